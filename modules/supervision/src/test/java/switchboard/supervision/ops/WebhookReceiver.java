package switchboard.supervision.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A local webhook that records each POSTed alert; the first {@code failures} requests get a 500. */
public final class WebhookReceiver implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request as received: its JSON body, the status it was answered with, and when. */
  public record Received(JsonNode body, int status, long nanos) {}

  private final HttpServer server;
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final AtomicInteger failures;

  public WebhookReceiver(int failures) throws IOException {
    this.failures = new AtomicInteger(failures);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/hook/secret-path", exchange -> {
      JsonNode body = JSON.readTree(exchange.getRequestBody().readAllBytes());
      int status = failures() ? 500 : 204;
      received.add(new Received(body, status, System.nanoTime()));
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    server.start();
  }

  private boolean failures() {
    return this.failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook/secret-path");
  }

  /** The next request, failing the test when none comes within {@code seconds}. */
  public Received next(long seconds) throws InterruptedException {
    Received r = received.poll(seconds, TimeUnit.SECONDS);
    if (r == null) {
      throw new AssertionError("no webhook request within " + seconds + " s");
    }
    return r;
  }

  /** The next request within {@code millis}, or null. */
  public Received poll(long millis) throws InterruptedException {
    return received.poll(millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
