package switchboard.providers;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Uri;
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
  /**
   * The parsed URL and headers of the calls, each parsed once: a provider has one URL and a header
   * or two per key, and parsing them again for every call cost more than the rest of building it.
   */
  private final Map<String, Uri> uris = new ConcurrentHashMap<>();
  private final Map<Map.Entry<String, String>, HttpHeader> parsedHeaders = new ConcurrentHashMap<>();

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
    List<HttpHeader> parsed = new ArrayList<>(headers.size());
    for (Map.Entry<String, String> h : headers.entrySet()) {
      parsed.add(parsedHeaders.computeIfAbsent(Map.entry(h.getKey(), h.getValue()),
          e -> HttpHeader.parse(e.getKey(), e.getValue())));
    }
    HttpRequest request = HttpRequest.create()
        .withMethod(HttpMethods.POST)
        .withUri(uris.computeIfAbsent(url, Uri::create))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))
        .addHeaders(parsed);
    return Stages.inline(http.singleRequest(request, http.defaultClientHttpsContext(), pool, log));
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
    if (response.entity() instanceof HttpEntity.Strict strict) {
      // the whole body came with the head (any small answer): no stream to run
      return CompletableFuture.completedFuture(
          new RawResponse(status, headers, strict.getData().decodeString(StandardCharsets.UTF_8)));
    }
    return Stages.inline(response.entity().toStrict(timeout.toMillis(), materializer))
        .thenApply(strict -> new RawResponse(status, headers, strict.getData().decodeString(StandardCharsets.UTF_8)))
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            response.discardEntityBytes(materializer);
          }
        });
  }
}
