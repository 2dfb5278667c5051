package switchboard.supervision.bench;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BiFunction;

/**
 * One measured phase: {@code total} requests with exactly {@code concurrency} in flight (each lane
 * sends its next request as soon as its previous one is answered: a closed loop, so latency is not
 * hidden by a queue in the client). Lanes are numbered, so a lane can keep to one conversation.
 */
final class LoadRun {

  /** Marks a request that failed or never finished; it is left out of the latency figures. */
  private static final long NO_LATENCY = -1;

  private final HttpClient client;
  private final BiFunction<Integer, Integer, HttpRequest> requests;
  private final int total;
  private final AtomicLongArray latencies;
  private final AtomicInteger issued = new AtomicInteger();
  private final AtomicInteger finished = new AtomicInteger();
  private final Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  /** Whether answers are streamed: then each one's time to its first piece is measured too. */
  private final boolean stream;
  private final AtomicLongArray firstPieces;
  private final java.util.concurrent.atomic.AtomicLong pieces = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param requests builds request number {@code i} (second argument) for lane {@code lane} (first)
   */
  LoadRun(HttpClient client, int total, BiFunction<Integer, Integer, HttpRequest> requests) {
    this(client, total, requests, false);
  }

  /** With {@code stream}, answers are read as server-sent events, piece by piece as they arrive. */
  LoadRun(HttpClient client, int total, BiFunction<Integer, Integer, HttpRequest> requests, boolean stream) {
    this.client = client;
    this.total = total;
    this.requests = requests;
    this.stream = stream;
    this.latencies = new AtomicLongArray(total);
    this.firstPieces = new AtomicLongArray(total);
    for (int i = 0; i < total; i++) {
      latencies.set(i, NO_LATENCY);
      firstPieces.set(i, NO_LATENCY);
    }
  }

  /**
   * Sends every request with {@code concurrency} lanes and waits at most {@code limit}; requests
   * still unanswered then count as errors and no more are sent.
   */
  PhaseResult run(int concurrency, Duration limit) throws InterruptedException {
    if (total == 0) {
      return new PhaseResult(0, 0, new long[0], Map.of(), 0);
    }
    long start = System.nanoTime();
    for (int lane = 0; lane < Math.min(concurrency, total); lane++) {
      sendNext(lane);
    }
    try {
      done.get(Math.max(1, limit.toMillis()), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      issued.set(total);
      int unfinished = total - finished.get();
      errors.computeIfAbsent("not answered within the overall --timeout", k -> new AtomicInteger()).addAndGet(unfinished);
    } catch (ExecutionException e) {
      throw new IllegalStateException("the load generator failed", e.getCause());
    }
    long elapsed = System.nanoTime() - start;
    long[] ok = new long[total];
    int count = 0;
    for (int i = 0; i < total; i++) {
      long latency = latencies.get(i);
      if (latency != NO_LATENCY) {
        ok[count++] = latency;
      }
    }
    Map<String, Integer> errorCounts = new TreeMap<>();
    errors.forEach((what, n) -> errorCounts.put(what, n.get()));
    long[] first = new long[total];
    int firsts = 0;
    for (int i = 0; i < total; i++) {
      if (firstPieces.get(i) != NO_LATENCY) {
        first[firsts++] = firstPieces.get(i);
      }
    }
    return new PhaseResult(total, concurrency, Arrays.copyOf(ok, count), errorCounts, elapsed,
        Arrays.copyOf(first, firsts), pieces.get());
  }

  private void sendNext(int lane) {
    int i = issued.getAndIncrement();
    if (i >= total) {
      return;
    }
    HttpRequest request = requests.apply(lane, i);
    long start = System.nanoTime();
    if (stream) {
      sendStreamed(lane, i, request, start);
      return;
    }
    client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .whenComplete((response, failure) -> {
          long took = System.nanoTime() - start;
          if (failure != null) {
            error(describe(failure));
          } else if (response.statusCode() != 200) {
            error("HTTP " + response.statusCode() + " " + abbreviate(response.body()));
          } else {
            latencies.set(i, took);
          }
          if (finished.incrementAndGet() == total) {
            done.complete(null);
          } else {
            sendNext(lane);
          }
        });
  }

  private void sendStreamed(int lane, int i, HttpRequest request, long start) {
    Pieces watch = new Pieces();
    client.sendAsync(request, info -> HttpResponse.BodySubscribers.fromLineSubscriber(watch, w -> w, java.nio.charset.StandardCharsets.UTF_8, "\n"))
        .whenComplete((response, failure) -> {
          long took = System.nanoTime() - start;
          if (failure != null) {
            error(describe(failure));
          } else if (response.statusCode() != 200) {
            error("HTTP " + response.statusCode());
          } else if (!watch.done || watch.first == 0) {
            error("a stream that did not end with [DONE] after its pieces");
          } else {
            latencies.set(i, took);
            firstPieces.set(i, watch.first - start);
            pieces.addAndGet(watch.count);
          }
          if (finished.incrementAndGet() == total) {
            done.complete(null);
          } else {
            sendNext(lane);
          }
        });
  }

  /** Counts the pieces of one streamed answer as its lines arrive, and when the first came. */
  private static final class Pieces implements java.util.concurrent.Flow.Subscriber<String> {
    volatile long first;
    volatile int count;
    volatile boolean done;

    @Override
    public void onSubscribe(java.util.concurrent.Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      if (line.equals("data: [DONE]")) {
        done = true;
      } else if (line.startsWith("data: ") && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
        if (first == 0) {
          first = System.nanoTime();
        }
        count++;
      }
    }

    @Override
    public void onError(Throwable throwable) {}

    @Override
    public void onComplete() {}
  }

  private void error(String what) {
    errors.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
  }

  private static String describe(Throwable failure) {
    Throwable cause = failure;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  private static String abbreviate(String body) {
    String line = body == null ? "" : body.replaceAll("\\s+", " ").trim();
    return line.length() <= 120 ? line : line.substring(0, 120) + "...";
  }
}
