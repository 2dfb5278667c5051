package switchboard.supervision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine;

/**
 * The commands that talk to a running gateway ({@code gateway status}, {@code provider reset}) over
 * its HTTP API, with the gateway token when one is given; every failure is one line on stderr.
 */
final class GatewayClient {
  /** How the command line's requests say who they are: the gateway logs and counts resets by it. */
  static final String ORIGIN = "cli";

  private final CommandLine commandLine;
  private final String url;
  private final String token;

  GatewayClient(CommandLine commandLine, String url, String token) {
    this.commandLine = commandLine;
    this.url = url;
    this.token = token;
  }

  /** {@code GET path}: the 200 answer's body, or empty after one line naming what went wrong. */
  Optional<String> get(String path) {
    return send(path, HttpRequest.newBuilder().GET());
  }

  /** {@code POST path} with a JSON {@code body}: the 200 answer's body, or empty after one line on stderr. */
  Optional<String> post(String path, String body) {
    return send(path, HttpRequest.newBuilder()
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private Optional<String> send(String path, HttpRequest.Builder request) {
    PrintWriter err = commandLine.getErr();
    try {
      request.uri(URI.create(url.replaceAll("/+$", "") + path));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(commandLine, "--url " + url + " is not a URL");
    }
    request.timeout(Duration.ofSeconds(10)).header("X-Switchboard-Origin", ORIGIN);
    if (token != null && !token.isBlank()) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response;
    try {
      response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
          .send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      err.println("cannot reach the gateway at " + url + " (" + reason(e) + "): is it running?");
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    if (response.statusCode() != 200) {
      err.println("the gateway at " + url + " answered " + response.statusCode() + ": " + errorMessage(response.body()));
      return Optional.empty();
    }
    return Optional.of(response.body());
  }

  /** The {@code error.message} of the gateway's JSON error shape, else the body as it came (on one line). */
  private static String errorMessage(String body) {
    try {
      JsonNode message = new ObjectMapper().readTree(body).path("error").path("message");
      if (message.isTextual()) {
        return message.asText();
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: shown as it is
    }
    return body.replaceAll("\\s+", " ").trim();
  }

  private static String reason(IOException e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
