package switchboard.supervision.ops;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.providers.BreakerState;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;
import switchboard.providers.ProviderEvents.BreakerChange;
import switchboard.providers.ProviderEvents.CallRecord;
import switchboard.providers.config.QuotaReset;
import switchboard.router.FallbackPlan;

/**
 * Turns provider events into the few alerts a human must act on, and delivers them without ever
 * holding up a user's answer. Deduplicated: the first {@code out_of_credits} of a provider alerts,
 * later ones are noise until its billing period ends (the breaker's until-instant) or its breaker
 * closes; {@code auth_failed} once per key until it clears; a breaker opening (from closed) and
 * closing; more {@code rate_limited} answers than {@code rate-limited-per-hour} within an hour, at
 * most once an hour per provider; every provider down, once until one recovers. A breaker that opens
 * for out_of_credits or auth_failed is told by that alert, not by a second breaker_open.
 *
 * <p>Each alert is logged, POSTed as JSON to {@code alerts.webhook-url} (asynchronously, retried with
 * backoff on timers, given up with a warning, never fatal), optionally handed to a Telegram sender,
 * and kept among the last {@value #RECENT} for the status page.
 */
public final class AlertsActor extends AbstractBehavior<AlertsActor.Command> {

  /** How many alerts {@link GetRecent} returns at most. */
  public static final int RECENT = 50;

  /** What the alerts actor understands. */
  public sealed interface Command {}

  /** A provider call ended (from {@link #asProviderEvents}). */
  public record ProviderCall(CallRecord record) implements Command {}

  /** A provider's or key's breaker changed (from {@link #asProviderEvents}). */
  public record BreakerChanged(BreakerChange change) implements Command {}

  /** No provider could answer: every one is down at once. Sent by whoever notices (the router). */
  public record AllProvidersDown(String detail) implements Command {}

  /** Reply with the last {@value #RECENT} alerts, newest first. */
  public record GetRecent(ActorRef<List<Alert>> replyTo) implements Command {}

  private record Deliver(long id, Alert alert, int attempt) implements Command {}

  private record Delivered(long id, Alert alert, int attempt, Optional<Integer> status, Optional<Throwable> failure)
      implements Command {}

  private static final Duration HOUR = Duration.ofHours(1);

  private final AlertsConfig config;
  private final FallbackPlan plan;
  private final Optional<Consumer<String>> telegram;
  private final TimerScheduler<Command> timers;
  private final HttpClient http;
  private final Deque<Alert> recent = new ArrayDeque<>();
  /** Provider -> out_of_credits alerts are quiet until then. */
  private final Map<String, Instant> creditsQuietUntil = new HashMap<>();
  /** provider|key already alerted for auth_failed. */
  private final Set<String> authAlerted = new HashSet<>();
  /** provider|key -> the outcome its breaker opened for. */
  private final Map<String, OutcomeKind> openedFor = new HashMap<>();
  /** Provider -> times of its latest rate_limited answers (at most threshold + 1). */
  private final Map<String, Deque<Instant>> rateLimited = new HashMap<>();
  private final Map<String, Instant> lastSpike = new HashMap<>();
  private boolean allDownAlerted;
  private long nextDelivery;

  private AlertsActor(
      ActorContext<Command> context, TimerScheduler<Command> timers, AlertsConfig config, FallbackPlan plan,
      Optional<Consumer<String>> telegram) {
    super(context);
    this.config = config;
    this.plan = plan;
    this.telegram = telegram;
    this.timers = timers;
    this.http = HttpClient.newBuilder().connectTimeout(config.requestTimeout()).build();
  }

  /**
   * @param telegramSender sends one text to the admin chat ({@code alerts.telegram-chat-id}), e.g. by
   *                       telling the Telegram channel {@code Notify(chatId, text)}; empty = no Telegram
   */
  public static Behavior<Command> create(AlertsConfig config, Optional<Consumer<String>> telegramSender) {
    return create(config, FallbackPlan.NONE, telegramSender);
  }

  /** Alerts whose texts say where messages go meanwhile, by {@code plan}. */
  public static Behavior<Command> create(
      AlertsConfig config, FallbackPlan plan, Optional<Consumer<String>> telegramSender) {
    return Behaviors.setup(context ->
        Behaviors.withTimers(timers -> new AlertsActor(context, timers, config, plan, telegramSender)));
  }

  /** Provider events that are told to {@code alerts}: plug into a {@code CompositeEvents}. */
  public static ProviderEvents asProviderEvents(ActorRef<Command> alerts) {
    return new ProviderEvents() {
      @Override
      public void call(CallRecord record) {
        alerts.tell(new ProviderCall(record));
      }

      @Override
      public void breakerChanged(BreakerChange change) {
        alerts.tell(new BreakerChanged(change));
      }

      @Override
      public void breakerApplied(BreakerChange change) {
        // alerted by the node that made the change
      }
    };
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ProviderCall.class, m -> onCall(m.record()))
        .onMessage(BreakerChanged.class, m -> onBreaker(m.change()))
        .onMessage(AllProvidersDown.class, m -> onAllDown(m.detail()))
        .onMessage(GetRecent.class, m -> onGetRecent(m.replyTo()))
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Delivered.class, this::onDelivered)
        .build();
  }

  private Behavior<Command> onCall(CallRecord r) {
    Instant at = r.time() == null ? Instant.now() : r.time();
    OutcomeKind outcome = r.outcome() == null ? OutcomeKind.OK : r.outcome();
    switch (outcome) {
      case OK -> recovered(r.provider(), r.keyAlias());
      case OUT_OF_CREDITS -> outOfCredits(r.provider(), Optional.ofNullable(r.keyAlias()), at, Optional.empty(),
          "Provider " + r.provider() + " returned " + r.status() + ": out of credits"
              + keyPart(orEmpty(r.keyAlias())) + ". "
              + whatHappens(r.provider(), orEmpty(r.keyAlias()), OutcomeKind.OUT_OF_CREDITS, Optional.empty()));
      case AUTH_FAILED -> authFailed(r.provider(), orEmpty(r.keyAlias()), at,
          "Provider " + r.provider() + " refused key " + orEmpty(r.keyAlias()) + " (" + r.status()
              + "): check the API key. "
              + whatHappens(r.provider(), orEmpty(r.keyAlias()), OutcomeKind.AUTH_FAILED, Optional.empty()));
      case RATE_LIMITED -> rateLimited(r.provider(), at);
      default -> { }
    }
    return this;
  }

  private Behavior<Command> onBreaker(BreakerChange c) {
    Instant at = c.time() == null ? Instant.now() : c.time();
    String key = c.keyAlias().orElse("");
    String id = c.provider() + "|" + key;
    if (c.to() == BreakerState.OPEN && c.from() == BreakerState.CLOSED) {
      OutcomeKind reason = c.reason().orElse(OutcomeKind.UNAVAILABLE);
      openedFor.put(id, reason);
      breakerOpened(c, at, key, reason);
    } else if (c.to() == BreakerState.OPEN && c.reason().isPresent()) {
      openedFor.put(id, c.reason().get());
      if (c.reason().get() == OutcomeKind.OUT_OF_CREDITS) {
        outOfCredits(c.provider(), c.keyAlias(), at, c.until(), "Provider " + c.provider() + " is still out of credits.");
      }
    } else if (c.to() == BreakerState.CLOSED && c.from() != BreakerState.CLOSED) {
      breakerClosed(c, at, key, id);
    }
    return this;
  }

  private Behavior<Command> onAllDown(String detail) {
    if (!allDownAlerted) {
      allDownAlerted = true;
      fire(new Alert("all_providers_down", Optional.empty(), "Every provider is down: " + detail, Instant.now(), Map.of()));
    }
    return this;
  }

  private Behavior<Command> onGetRecent(ActorRef<List<Alert>> replyTo) {
    replyTo.tell(List.copyOf(recent));
    return this;
  }

  private Behavior<Command> onDeliver(Deliver d) {
    post(d.id(), d.alert(), d.attempt());
    return this;
  }

  private Behavior<Command> onDelivered(Delivered d) {
    if (d.status().isPresent() && d.status().get() / 100 == 2) {
      getContext().getLog().debug("alert {} delivered to webhook {} (attempt {})", d.alert().type(), webhookHost(), d.attempt());
      return this;
    }
    String why = d.status().map(s -> "HTTP " + s).orElseGet(() -> d.failure().map(AlertsActor::describe).orElse("no answer"));
    if (d.attempt() < config.deliveryAttempts()) {
      Duration delay = config.backoff(d.attempt());
      getContext().getLog().info(
          "alert {} to webhook {} failed ({}), attempt {} of {}; retrying in {} ms",
          d.alert().type(), webhookHost(), why, d.attempt(), config.deliveryAttempts(), delay.toMillis());
      timers.startSingleTimer(d.id(), new Deliver(d.id(), d.alert(), d.attempt() + 1), delay);
    } else {
      getContext().getLog().warn(
          "alert {} not delivered to webhook {} after {} attempts ({}): {}",
          d.alert().type(), webhookHost(), d.attempt(), why, d.alert().text());
    }
    return this;
  }

  // --- deciding -----------------------------------------------------------------------------

  private void outOfCredits(String provider, Optional<String> key, Instant at, Optional<Instant> until, String message) {
    Instant quietUntil = creditsQuietUntil.get(provider);
    boolean quiet = quietUntil != null && at.isBefore(quietUntil);
    // A breaker's until is the billing period's end: it replaces the provisional guess (next midnight).
    creditsQuietUntil.put(provider, until.orElse(quiet ? quietUntil : new QuotaReset.Daily().next(at)));
    if (!quiet) {
      Map<String, String> details = new LinkedHashMap<>();
      key.filter(k -> !k.isEmpty()).ifPresent(k -> details.put("key", k));
      until.ifPresent(u -> details.put("until", u.toString()));
      fire(new Alert("out_of_credits", Optional.of(provider), message, at, details));
    }
  }

  private void authFailed(String provider, String key, Instant at, String message) {
    boolean providerLevel = key.isEmpty();
    boolean known = providerLevel
        ? authAlerted.stream().anyMatch(k -> k.startsWith(provider + "|"))
        : authAlerted.contains(provider + "|" + key);
    authAlerted.add(provider + "|" + key);
    if (!known) {
      Map<String, String> details = providerLevel ? Map.of() : Map.of("key", key);
      fire(new Alert("auth_failed", Optional.of(provider), message, at, details));
    }
  }

  private void rateLimited(String provider, Instant at) {
    int threshold = config.rateLimitedPerHour();
    if (threshold <= 0) {
      return;
    }
    Deque<Instant> times = rateLimited.computeIfAbsent(provider, p -> new ArrayDeque<>());
    times.addLast(at);
    while (times.size() > threshold + 1) {
      times.removeFirst();
    }
    Instant previous = lastSpike.get(provider);
    boolean spike = times.size() > threshold && Duration.between(times.peekFirst(), at).compareTo(HOUR) < 0;
    if (spike && (previous == null || !at.isBefore(previous.plus(HOUR)))) {
      lastSpike.put(provider, at);
      fire(new Alert(
          "rate_limited_spike", Optional.of(provider),
          "Provider " + provider + " answered rate_limited more than " + threshold + " times within an hour. "
              + "Consider a lower rate-limit-rpm or another key.",
          at, Map.of("count", Integer.toString(times.size()), "threshold", Integer.toString(threshold))));
    }
  }

  private void breakerOpened(BreakerChange c, Instant at, String key, OutcomeKind reason) {
    switch (reason) {
      case OUT_OF_CREDITS -> outOfCredits(c.provider(), c.keyAlias(), at, c.until(),
          "Provider " + c.provider() + " is out of credits" + keyPart(key) + ". "
              + whatHappens(c.provider(), key, reason, c.until()));
      case AUTH_FAILED -> authFailed(c.provider(), key, at,
          "Provider " + c.provider() + (key.isEmpty() ? "" : " key " + key) + " was refused: check the API key. "
              + whatHappens(c.provider(), key, reason, c.until()));
      default -> {
        Map<String, String> details = new LinkedHashMap<>();
        if (!key.isEmpty()) {
          details.put("key", key);
        }
        details.put("reason", reason.wire());
        c.until().ifPresent(u -> details.put("until", u.toString()));
        fire(new Alert("breaker_open", Optional.of(c.provider()),
            "Breaker of " + (key.isEmpty() ? "provider " + c.provider() : "key " + key) + " opened (" + reason.wire() + ")"
                + c.until().map(u -> " until " + u).orElse("") + detailSuffix(c.detail()) + " "
                + whatHappens(c.provider(), key, reason, c.until()),
            at, details));
      }
    }
  }

  private void breakerClosed(BreakerChange c, Instant at, String key, String id) {
    OutcomeKind reason = openedFor.remove(id);
    if (reason == OutcomeKind.OUT_OF_CREDITS) {
      creditsQuietUntil.remove(c.provider());
    }
    if (reason == OutcomeKind.AUTH_FAILED || key.isEmpty()) {
      clearAuth(c.provider(), key);
    }
    allDownAlerted = false;
    Map<String, String> details = new LinkedHashMap<>();
    if (!key.isEmpty()) {
      details.put("key", key);
    }
    if (reason != null) {
      details.put("reason", reason.wire());
    }
    c.resetBy().ifPresent(by -> details.put("by", by));
    String breaker = "Breaker of " + (key.isEmpty() ? "provider " + c.provider() : "key " + key);
    String had = reason == null ? "" : " (had opened for " + reason.wire() + ")";
    fire(new Alert("breaker_closed", Optional.of(c.provider()),
        c.resetBy()
            .map(by -> breaker + " was reset by an operator via " + by + had + ": messages go to it again.")
            .orElseGet(() -> breaker + " closed again" + had + detailSuffix(c.detail())),
        at, details));
  }

  private void recovered(String provider, String key) {
    allDownAlerted = false;
    authAlerted.remove(provider + "|" + orEmpty(key));
  }

  private void clearAuth(String provider, String key) {
    if (key.isEmpty()) {
      authAlerted.removeIf(k -> k.startsWith(provider + "|"));
    } else {
      authAlerted.remove(provider + "|" + key);
    }
  }

  /**
   * What happens to messages while {@code provider} (or its key {@code key}) is refused for
   * {@code kind}, in the words of the fallback plan: another key, the next provider, or nothing;
   * and how it ends (the breaker's until, or an operator's reset).
   */
  private String whatHappens(String provider, String key, OutcomeKind kind, Optional<Instant> until) {
    Set<String> openKeys = new HashSet<>();
    openedFor.keySet().stream().filter(id -> id.startsWith(provider + "|") && !id.endsWith("|")).forEach(openKeys::add);
    openKeys.add(provider + "|" + key);
    boolean otherKeys = !key.isEmpty() && openKeys.size() < plan.keysOf(provider);
    List<String> next = plan.after(provider, kind);
    String meanwhile = otherKeys
        ? "Its other keys answer meanwhile"
        : next.isEmpty()
            ? "There is no fallback: messages fail with " + kind.wire()
            : "Messages go to " + String.join(", then ", next) + " meanwhile";
    String reset = "bin/switchboard provider reset " + provider + (key.isEmpty() ? "" : " --key " + key);
    String ends = switch (kind) {
      case OUT_OF_CREDITS -> " until it is topped up and reset (" + reset + " or the status page)"
          + until.map(u -> ", or its quota resets at " + u).orElse(", or its quota resets");
      case AUTH_FAILED -> " until the key is fixed and the breaker reset (" + reset + " or a restart)";
      default -> until.map(u -> " until " + u).orElse(" until it recovers") + " (" + reset + " closes it now)";
    };
    return meanwhile + ends + ".";
  }

  private static String keyPart(String key) {
    return key.isEmpty() ? "" : " on key " + key;
  }

  // --- delivering ---------------------------------------------------------------------------

  private void fire(Alert alert) {
    getContext().getLog().warn("ALERT {}", alert.text());
    recent.addFirst(alert);
    while (recent.size() > RECENT) {
      recent.removeLast();
    }
    telegram.ifPresent(send -> sendTelegram(send, alert));
    if (config.webhookUrl().isPresent()) {
      post(nextDelivery++, alert, 1);
    }
  }

  private void sendTelegram(Consumer<String> send, Alert alert) {
    try {
      send.accept(alert.text());
    } catch (RuntimeException e) {
      getContext().getLog().warn("alert {} not sent to Telegram: {}", alert.type(), describe(e));
    }
  }

  private void post(long id, Alert alert, int attempt) {
    URI url = config.webhookUrl().orElseThrow();
    CompletionStage<Integer> sent;
    try {
      HttpRequest request = HttpRequest.newBuilder(url)
          .timeout(config.requestTimeout())
          .header("Content-Type", "application/json")
          .header("User-Agent", "switchboard-alerts")
          .POST(HttpRequest.BodyPublishers.ofString(alert.json()))
          .build();
      sent = http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).thenApply(HttpResponse::statusCode);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    getContext().pipeToSelf(sent, (status, failure) ->
        new Delivered(id, alert, attempt, Optional.ofNullable(status), Optional.ofNullable(failure)));
  }

  /** Host and port only: a webhook URL's path often is its secret. */
  private String webhookHost() {
    return config.webhookUrl().map(u -> u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort())).orElse("-");
  }

  private static String describe(Throwable t) {
    Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + message);
  }

  private static String detailSuffix(String detail) {
    return detail == null || detail.isBlank() ? "." : ": " + detail + ".";
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }
}
