package switchboard.providers;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.Materializer;

/**
 * One provider's HTTP client over Pekko HTTP's pooled connections. Every response entity is read
 * (bounded by the provider's {@code timeout}) or discarded, so the pool never stalls. The actor's
 * own timer decides that a call timed out; a hung connection is then freed by the pool's idle
 * timeout, set just beyond the provider's timeout so it never pre-empts that timer.
 */
final class HttpTransport {

  /** A response as the classifier needs it: status, lower-case headers, body text. */
  record RawResponse(int status, Map<String, String> headers, String body) {}

  private final Http http;
  private final Materializer materializer;
  private final ConnectionPoolSettings pool;
  private final Duration timeout;
  private final org.apache.pekko.event.LoggingAdapter log;

  HttpTransport(ActorSystem<?> system, Duration timeout, Duration streamIdleTimeout, int maxConnections, int maxOpenRequests) {
    org.apache.pekko.actor.ActorSystem classic = Adapter.toClassic(system);
    this.http = Http.get(system);
    this.materializer = Materializer.matFromSystem(system);
    this.timeout = timeout;
    this.log = classic.log();
    this.pool =
        ConnectionPoolSettings.create(classic)
            .withMaxRetries(0)
            .withMaxConnections(maxConnections)
            .withMaxOpenRequests(maxOpenRequests)
            .withConnectionSettings(
                ClientConnectionSettings.create(classic)
                    .withIdleTimeout((timeout.compareTo(streamIdleTimeout) > 0 ? timeout : streamIdleTimeout).plusSeconds(1))
                    .withConnectingTimeout(timeout));
  }

  /** POSTs a JSON body; completes with the whole response, or fails on a connection error. */
  CompletionStage<RawResponse> post(String url, Map<String, String> headers, byte[] body) {
    return open(url, headers, body).thenCompose(this::read);
  }

  /**
   * POSTs a JSON body; completes as soon as the response's head has come, its entity not yet read
   * (the caller must read or discard it).
   */
  CompletionStage<HttpResponse> open(String url, Map<String, String> headers, byte[] body) {
    HttpRequest request = HttpRequest.POST(url).withEntity(ContentTypes.APPLICATION_JSON, body);
    for (Map.Entry<String, String> h : headers.entrySet()) {
      request = request.addHeader(HttpHeader.parse(h.getKey(), h.getValue()));
    }
    return http.singleRequest(request, http.defaultClientHttpsContext(), pool, log);
  }

  Materializer materializer() {
    return materializer;
  }

  /** A response's headers with lower-case names, its content type included. */
  static Map<String, String> headers(HttpResponse response) {
    Map<String, String> headers = new HashMap<>();
    for (HttpHeader h : response.getHeaders()) {
      headers.put(h.lowercaseName(), h.value());
    }
    headers.put("content-type", response.entity().getContentType().toString().toLowerCase(Locale.ROOT));
    return Map.copyOf(headers);
  }

  /** Reads a whole response (bounded by the provider's timeout). */
  CompletionStage<RawResponse> read(HttpResponse response) {
    Map<String, String> headers = headers(response);
    int status = response.status().intValue();
    return response.entity().toStrict(timeout.toMillis(), materializer)
        .thenApply(strict -> new RawResponse(status, headers, strict.getData().decodeString(StandardCharsets.UTF_8)))
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            response.discardEntityBytes(materializer);
          }
        });
  }
}
