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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code switchboard gateway ...}: run the gateway, or ask a running one how it is. */
@Command(name = "gateway", description = "Run the gateway or ask a running one for its status.",
    subcommands = {GatewayCommands.Status.class}, mixinStandardHelpOptions = true)
final class GatewayCommands implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (run, status)");
  }

  /** Prints the providers' breaker states and the channels' queue depths of a running gateway. */
  @Command(name = "status", description = "Show breaker states and channel queues of a running gateway.",
      mixinStandardHelpOptions = true)
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
        description = "the gateway's HTTP address (default: ${DEFAULT-VALUE})")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:SWITCHBOARD_HTTP_TOKEN}",
        description = "bearer token when the gateway needs one (default: $SWITCHBOARD_HTTP_TOKEN)")
    String token;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      URI uri;
      try {
        uri = URI.create(url.replaceAll("/+$", "") + "/api/status");
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--url " + url + " is not a URL");
      }
      HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET();
      if (token != null && !token.isBlank()) {
        request.header("Authorization", "Bearer " + token);
      }
      HttpResponse<String> response;
      try {
        response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
            .send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        err.println("cannot reach the gateway at " + url + " (" + reason(e) + "): is it running?");
        return 1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      }
      if (response.statusCode() != 200) {
        err.println("the gateway at " + url + " answered " + response.statusCode() + ": " + response.body());
        return 1;
      }
      print(out, new ObjectMapper().readTree(response.body()), url);
      return 0;
    }

    private static String reason(IOException e) {
      String message = e.getMessage();
      return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    static void print(PrintWriter out, JsonNode status, String url) {
      out.println("gateway " + url + ", up " + status.path("uptime_seconds").asLong() + "s");
      List<List<String>> providers = new ArrayList<>();
      providers.add(List.of("PRIORITY", "PROVIDER", "STATE", "REASON", "OPEN UNTIL", "KEYS"));
      for (JsonNode p : status.path("providers")) {
        List<String> keys = new ArrayList<>();
        for (JsonNode key : p.path("keys")) {
          keys.add(key.path("alias").asText() + "=" + key.path("state").asText());
        }
        providers.add(List.of(
            p.path("priority").asText(),
            p.path("name").asText(),
            p.path("state").asText(),
            text(p.path("reason")),
            text(p.path("open_until")),
            keys.isEmpty() ? "-" : String.join(" ", keys)));
      }
      ProviderCommands.printTable(out, providers);
      out.println();
      List<List<String>> channels = new ArrayList<>();
      channels.add(List.of("CHANNEL", "STATE", "PENDING"));
      for (JsonNode c : status.path("channels")) {
        channels.add(List.of(
            c.path("name").asText(),
            c.path("state").asText(),
            c.path("pending").asInt() + "/" + c.path("max_pending").asInt()));
      }
      ProviderCommands.printTable(out, channels);
    }

    private static String text(JsonNode node) {
      return node.isMissingNode() || node.isNull() || node.asText().isEmpty() ? "-" : node.asText();
    }
  }
}
