package switchboard.providers;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import switchboard.providers.ErrorClassifier.Classification;
import switchboard.providers.HttpTransport.RawResponse;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.config.RetryConfig;
import switchboard.providers.limits.RateLimitHeaders;
import switchboard.providers.limits.SpendLedger;
import switchboard.providers.limits.TokenEstimate;
import switchboard.providers.wire.Completion;
import switchboard.providers.wire.ProviderKind;
import switchboard.providers.wire.StreamDelta;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One actor per configured provider: turns a chat request into exactly the right number of calls
 * (CONTRACT.md section 3). Each response is classified by {@link ErrorClassifier}; rate_limited and
 * unavailable are retried on timers within {@code retry}; out_of_credits, budget_exceeded and
 * auth_failed open the key's breaker (and the provider's once every key is open) so no further call
 * is paid for; repeated unavailable opens the provider's breaker with a growing cooldown, then one
 * probe decides. Breakers live outside the actor instance, so they survive its restarts.
 *
 * <p>It also keeps the provider under its limits rather than learning them from a 429 or a bill.
 * Before every call (first or retry) the request's tokens are estimated ({@link TokenEstimate}) and
 * the self-throttle asked for room: the configured {@code rate-limit-rpm}/{@code -tpm} for the
 * provider, and per key what the provider's rate-limit headers said. Without room the request
 * waits in a bounded FIFO queue ({@code throttle-queue}) and a timer starts it when there is room;
 * when the queue is full or the wait would pass the request's deadline it is answered at once with
 * {@code rate_limited} and no call, so the router falls back. After a call the estimate is
 * corrected from the usage, the headers are learnt, and the cost goes to the spend ledger; when
 * the spend reaches a {@code budget} cap the provider's breaker opens as {@code budget_exceeded}
 * until the cap's window resets.
 *
 * <p>Supervise it with restart: any bug restarts it; in-flight requests are then
 * answered with an {@code unavailable} failure, never left hanging.
 */
public final class ProviderActor extends AbstractBehavior<ProviderActor.Command> {

  /** What a provider actor understands. */
  public sealed interface Command {}

  /**
   * Answer {@code request} with exactly one {@link ProviderResult} to {@code replyTo}. Retries stop
   * early when the next one could not start before {@code deadline}.
   */
  public record Complete(ChatRequest request, Instant deadline, ActorRef<ProviderResult> replyTo)
      implements Command {}

  /** Reply with this provider's {@link ProviderStatus}. */
  public record GetStatus(ActorRef<ProviderStatus> replyTo) implements Command {}

  /**
   * An operator's reset (e.g. after topping up or fixing a key): close every breaker of this provider
   * and its keys, or only key {@code keyAlias}'s; {@code by} says through what ({@code cli},
   * {@code http}, {@code status-page}). The closed state is saved, so it lasts across restarts; the
   * next message may use the provider at once. Replies a {@link ResetResult}.
   */
  public record Reset(Optional<String> keyAlias, String by, ActorRef<ResetResult> replyTo) implements Command {}

  /** What the other nodes of the cluster said about this provider's key breakers (from {@link ProviderShare}). */
  record SharedBreakers(Map<String, ProviderShare.SharedBreaker> byKey) implements Command {}

  /** What the other nodes of the cluster have spent with this provider, by node (from {@link ProviderShare}). */
  record SharedSpend(Map<String, SpendLedger.Snapshot> byNode) implements Command {}

  /** The other nodes' spend has just been read for job {@code job}: it may be admitted now (from {@link ProviderShare}). */
  record SpendRead(long job) implements Command {}

  /** How many cluster members are up, whether this node probes shared breakers, and its name (from {@link ProviderShare}). */
  record SharedMembers(int up, boolean prober, String node) implements Command {}

  /** One call ended: a response, or why there was none (timeout, connection error). */
  private record CallEnded(
      long job, long attempt, Optional<RawResponse> response, String failure, Optional<StreamRelay.Opening> opening)
      implements Command {
    CallEnded(long job, long attempt, Optional<RawResponse> response, String failure) {
      this(job, attempt, response, failure, Optional.empty());
    }
  }

  /** A streamed answer that was handed on has ended (or was cancelled by its caller): its accounting. */
  private record StreamEnded(
      BreakerBook.Key key, String origin, int attempt, Instant started, long estimate, Map<String, String> headers,
      Usage usage, OutcomeKind kind, String detail, Duration firstToken) implements Command {}

  /** The wait before a retry of {@code job} is over. */
  private record RetryNow(long job) implements Command {}

  /** The head of the throttle queue should have room now. */
  private enum ThrottleRoom implements Command {
    INSTANCE
  }

  /** Why a call cannot start yet, and for how long. */
  private record Wait(Duration duration, String why) {}

  private static final String THROTTLE_TIMER = "throttle";

  /** A message being worked on. */
  private static final class Job {
    final long id;
    final Complete command;
    /** This message's number at the simulated provider, taken at its first call; 0 = none yet. */
    long simulatedNumber;
    /** The token estimate the throttle was charged for the current call. */
    long estimate;
    int calls;
    int retries;
    boolean probe;
    long attempt;
    BreakerBook.Key key;
    Instant started;
    /** Stops the current streamed call's bytes (before its first piece was handed on). */
    SharedKillSwitch killSwitch;
    OutcomeKind lastKind = OutcomeKind.UNAVAILABLE;
    int lastStatus;
    String lastDetail = "";
    Optional<Duration> lastRetryAfter = Optional.empty();

    Job(long id, Complete command) {
      this.id = id;
      this.command = command;
    }
  }

  private static final Pattern KEY_LIKE = Pattern.compile("(sk-|sk_|key-)[A-Za-z0-9_\\-]{6,}");

  private final ProviderConfig config;
  private final RetryConfig retry;
  private final ProviderEvents events;
  private final BreakerBook book;
  private final Optional<SimulatedProvider> simulated;
  private final Optional<HttpTransport> transport;
  private final ProviderKind kind;
  private final TimerScheduler<Command> timers;
  private final Map<Long, Job> jobs = new LinkedHashMap<>();
  /** Jobs waiting for throttle room, oldest first; the throttle timer runs while it is not empty. */
  private final Deque<Job> waiting = new ArrayDeque<>();
  private long jobSeq;
  private long attemptSeq;
  /** In a cluster: where this provider's state goes to and comes from the other nodes. */
  private final Optional<ActorRef<ProviderShare.Command>> share;
  /** This node's name in the cluster's shared state (known once {@link SharedMembers} came). */
  private String node = "";

  /** Where a provider's breakers and spend are kept, chosen once its actor system is known. */
  @FunctionalInterface
  public interface StateStores {
    ProviderStateStore of(ActorSystem<?> system, String provider);
  }

  /** How many messages wait while the saved state is read; more are answered unavailable at once. */
  static final int LOADING_STASH = 1000;

  /**
   * A provider actor whose breakers and spend outlive the process, when {@code dataDir} is given, in
   * {@code <dataDir>/breakers/<name>.json} and {@code <dataDir>/spend/<name>.json} (for use without
   * the gateway's store: tests, the benchmark).
   */
  public static Behavior<Command> create(
      ProviderConfig config, RetryConfig retry, BreakerConfig breaker, ProviderEvents events, Optional<Path> dataDir) {
    return create(config, retry, breaker, events, (system, provider) -> dataDir
        .<ProviderStateStore>map(d -> new FileProviderState(d, provider, system.dispatchers().lookup(DispatcherSelector.blocking())))
        .orElse(ProviderStateStore.NONE));
  }

  /**
   * A provider actor. Breakers, throttles and spend are kept across restarts of the returned
   * behaviour, and breakers and spend across process restarts in the store {@code stores} gives:
   * it is read once, before the first message is worked on (messages wait meanwhile).
   */
  public static Behavior<Command> create(
      ProviderConfig config, RetryConfig retry, BreakerConfig breaker, ProviderEvents events, StateStores stores) {
    return create(config, retry, breaker, events, stores, false);
  }

  /**
   * Like {@link #create(ProviderConfig, RetryConfig, BreakerConfig, ProviderEvents, StateStores)};
   * with {@code clustered}, this node is one of a cluster's and the provider's key breakers, spend
   * and rate-limit share are kept for the whole cluster ({@link ProviderShare}).
   */
  public static Behavior<Command> create(
      ProviderConfig config, RetryConfig retry, BreakerConfig breaker, ProviderEvents events, StateStores stores,
      boolean clustered) {
    BreakerBook book = new BreakerBook(config, breaker);
    Optional<SimulatedProvider> simulated =
        config.kind().impl().inProcess() ? Optional.of(new SimulatedProvider(config)) : Optional.empty();
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> Behaviors.<Command>withStash(LOADING_STASH, stash -> {
      java.util.function.Supplier<Behavior<Command>> running =
          () -> new ProviderActor(context, timers, config, retry, events, book, simulated, clustered);
      return book.restored()
          ? running.get()
          : new Loading(context, timers, stash, book, stores.of(context.getSystem(), config.name()), running);
    })));
  }

  private record StateLoaded(ProviderStateStore.Saved saved) implements Command {}

  private record StateLoadFailed(String why) implements Command {}

  private enum RetryLoad implements Command {
    INSTANCE
  }

  /**
   * The first incarnation reads the saved breakers and spend before anything else, so no call goes
   * out to a provider whose breaker was open; a store that does not answer is asked again every
   * second while messages wait (up to {@link #LOADING_STASH}).
   */
  private static final class Loading extends AbstractBehavior<Command> {
    private final TimerScheduler<Command> timers;
    private final StashBuffer<Command> stash;
    private final BreakerBook book;
    private final ProviderStateStore store;
    private final java.util.function.Supplier<Behavior<Command>> running;

    Loading(ActorContext<Command> context, TimerScheduler<Command> timers, StashBuffer<Command> stash, BreakerBook book,
        ProviderStateStore store, java.util.function.Supplier<Behavior<Command>> running) {
      super(context);
      this.timers = timers;
      this.stash = stash;
      this.book = book;
      this.store = store;
      this.running = running;
      load();
    }

    @Override
    public Receive<Command> createReceive() {
      return newReceiveBuilder()
          .onMessage(StateLoaded.class, this::onLoaded)
          .onMessage(StateLoadFailed.class, this::onLoadFailed)
          .onMessageEquals(RetryLoad.INSTANCE, this::onRetryLoad)
          .onAnyMessage(this::onWaiting)
          .build();
    }

    private void load() {
      getContext().pipeToSelf(store.load(),
          (saved, failure) -> failure == null ? new StateLoaded(saved) : new StateLoadFailed(describe(failure)));
    }

    private Behavior<Command> onLoaded(StateLoaded loaded) {
      book.restore(store, loaded.saved(), Instant.now());
      return stash.unstashAll(running.get());
    }

    private Behavior<Command> onLoadFailed(StateLoadFailed failed) {
      getContext().getLog().warn("provider {}: cannot read its saved breakers and spend yet ({}); trying again in 1 s",
          book.config.name(), failed.why());
      timers.startSingleTimer(RetryLoad.INSTANCE, Duration.ofSeconds(1));
      return this;
    }

    private Behavior<Command> onRetryLoad() {
      load();
      return this;
    }

    private Behavior<Command> onWaiting(Command command) {
      if (!stash.isFull()) {
        stash.stash(command);
      } else if (command instanceof Complete complete) {
        complete.replyTo().tell(new ProviderResult.Failure(book.config.name(), OutcomeKind.UNAVAILABLE, 0,
            "provider " + book.config.name() + " is still reading its saved state", Optional.empty(), 0));
      }
      return this;
    }
  }

  private ProviderActor(
      ActorContext<Command> context, TimerScheduler<Command> timers, ProviderConfig config, RetryConfig retry,
      ProviderEvents events, BreakerBook book, Optional<SimulatedProvider> simulated, boolean clustered) {
    super(context);
    context.setLoggerName(ProviderActor.class);
    this.timers = timers;
    this.config = config;
    this.retry = retry;
    this.events = events;
    this.book = book;
    this.simulated = simulated;
    this.kind = config.kind().impl();
    this.transport = simulated.isPresent() ? Optional.empty() : Optional.of(new HttpTransport(context.getSystem(),
        config.timeout(), config.streamIdleTimeout(), config.maxConnections(), config.maxOpenRequests()));
    book.abandonProbes();
    this.share = clustered
        ? Optional.of(context.spawn(ProviderShare.create(config.name(), context.getSelf()), "share"))
        : Optional.empty();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Complete.class, this::onComplete)
        .onMessage(CallEnded.class, this::onCallEnded)
        .onMessage(StreamEnded.class, this::onStreamEnded)
        .onMessage(RetryNow.class, this::onRetryNow)
        .onMessageEquals(ThrottleRoom.INSTANCE, this::onThrottleRoom)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(Reset.class, this::onReset)
        .onMessage(SharedBreakers.class, this::onSharedBreakers)
        .onMessage(SharedSpend.class, this::onSharedSpend)
        .onMessage(SharedMembers.class, this::onSharedMembers)
        .onMessage(SpendRead.class, this::onSpendRead)
        .onSignal(PreRestart.class, signal -> onStopping())
        .onSignal(PostStop.class, signal -> onStopping())
        .build();
  }

  // ---- handlers --------------------------------------------------------------------------------

  private Behavior<Command> onComplete(Complete complete) {
    accept(complete);
    return this;
  }

  private Behavior<Command> onCallEnded(CallEnded ended) {
    callEnded(ended);
    return this;
  }

  private Behavior<Command> onStreamEnded(StreamEnded ended) {
    streamEnded(ended);
    return this;
  }

  private Behavior<Command> onRetryNow(RetryNow retryNow) {
    retryNow(retryNow.job());
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus get) {
    get.replyTo().tell(status());
    return this;
  }

  private Behavior<Command> onThrottleRoom() {
    drainQueue();
    return this;
  }

  private Behavior<Command> onReset(Reset reset) {
    reset.replyTo().tell(reset(reset.keyAlias(), reset.by()));
    return this;
  }

  private Behavior<Command> onSharedBreakers(SharedBreakers shared) {
    publish(book.applyShared(shared.byKey(), Instant.now()), "closed on another node", true);
    return this;
  }

  private Behavior<Command> onSharedSpend(SharedSpend shared) {
    book.ledger.others(shared.byNode());
    checkBudget(Instant.now());
    return this;
  }

  private Behavior<Command> onSpendRead(SpendRead read) {
    Job job = jobs.get(read.job());
    if (job != null && job.calls == 0 && admitted(job, Instant.now())) {
      attempt(job);
    }
    return this;
  }

  private Behavior<Command> onSharedMembers(SharedMembers members) {
    clusterChanged(members);
    return this;
  }

  private Behavior<Command> onStopping() {
    answerInFlight();
    book.flush();
    return this;
  }

  // ---- the work --------------------------------------------------------------------------------

  private void accept(Complete complete) {
    Instant now = Instant.now();
    if (!now.isBefore(complete.deadline())) {
      complete.replyTo().tell(new ProviderResult.Failure(config.name(), OutcomeKind.UNAVAILABLE, 0,
          "no time left before the deadline", Optional.empty(), 0));
      return;
    }
    Job job = new Job(++jobSeq, complete);
    jobs.put(job.id, job);
    if (budgetedInCluster()) {
      share.get().tell(new ProviderShare.ReadSpend(job.id));
    } else if (admitted(job, now)) {
      attempt(job);
    }
  }

  /**
   * In a cluster, a provider with a budget reads what the other nodes spent before it admits a
   * message (a local read, a fraction of a millisecond), so the nodes together overshoot a cap by
   * no more than the calls in flight.
   */
  private boolean budgetedInCluster() {
    return share.isPresent() && (config.budget().daily() > 0 || config.budget().monthly() > 0);
  }

  /**
   * Whether {@code job} may go on to a call: not while a spending cap is reached or the provider's
   * breaker is open (the job is answered here), and while it is half-open only as its one probe.
   */
  private boolean admitted(Job job, Instant now) {
    publish(book.tick(now), "");
    checkBudget(now);
    BreakerBook.View view = book.view();
    if (view.state() == BreakerState.OPEN) {
      if (job.calls == 0) {
        refused(job, view.reason().orElse(OutcomeKind.UNAVAILABLE), openText(view), untilClosing(view, now));
      }
      finish(job, failure(job));
      return false;
    }
    if (book.providerHalfOpen() && !job.probe) {
      if (!book.takeProviderProbe()) {
        if (job.calls == 0) {
          refused(job, OutcomeKind.UNAVAILABLE, "breaker half-open after unavailable: a probe call is in flight",
              Optional.empty());
        }
        finish(job, failure(job));
        return false;
      }
      job.probe = true;
    }
    return true;
  }

  /** A reached cap (also one restored at start) opens the provider's breaker as budget_exceeded. */
  private void checkBudget(Instant now) {
    book.ledger.capReached(config.budget(), now).ifPresent(cap -> publish(book.overBudget(cap, now), ""));
  }

  /** Records why a message gets no call, as its answer, and reports the refusal. */
  private void refused(Job job, OutcomeKind kind, String text, Optional<Duration> wait) {
    job.lastKind = kind;
    job.lastStatus = 0;
    job.lastDetail = text;
    job.lastRetryAfter = wait;
    events.refused(config.name(), kind, text);
  }

  /** The next call of {@code job}: now, or when the throttle has room (behind those already waiting). */
  private void attempt(Job job) {
    Instant now = Instant.now();
    if (!waiting.isEmpty()) {
      enqueue(job, throttleWait(estimate(job), now).orElseGet(() ->
          new Wait(Duration.ZERO, waiting.size() + " earlier requests wait for room")), now);
      return;
    }
    startOrWait(job).ifPresent(wait -> enqueue(job, wait, now));
  }

  /**
   * Starts the next call of {@code job} on a ready key with throttle room, or ends the job when no
   * key can take it; returns the wait instead when the throttle has no room yet.
   */
  private Optional<Wait> startOrWait(Job job) {
    Instant now = Instant.now();
    checkBudget(now);
    if (book.view().state() == BreakerState.OPEN) {
      admitted(job, now);
      return Optional.empty();
    }
    long estimate = estimate(job);
    Optional<Wait> wait = throttleWait(estimate, now);
    if (wait.isPresent()) {
      return wait;
    }
    Optional<BreakerBook.Key> key = book.pick(now, k -> k.throttle.waitFor(estimate, now).isZero());
    if (key.isEmpty()) {
      noKey(job, now);
      return Optional.empty();
    }
    book.throttle.take(estimate, now);
    key.get().throttle.take(estimate, now);
    job.estimate = estimate;
    call(job, key.get(), now);
    return Optional.empty();
  }

  /**
   * How long the throttle holds back a call of {@code estimate} tokens: the provider's configured
   * limits first; then, when no ready key has room in its own throttle (what its headers said),
   * until the first such key (or a key cooling down after a 429) is free. Empty = no throttle wait:
   * a call may start now, or no key is held back by its throttle alone.
   */
  private Optional<Wait> throttleWait(long estimate, Instant now) {
    Duration configured = book.throttle.waitFor(estimate, now);
    if (!configured.isZero()) {
      return Optional.of(new Wait(configured, configuredLimits() + " leaves no room for " + ErrorClassifier.human(configured)));
    }
    if (book.anyReadyWithRoom(estimate, now)) {
      return Optional.empty();
    }
    return book.keyThrottleWait(estimate, now).map(d -> {
      Duration first = book.earliestCooled(now).map(c -> Duration.between(now, c)).filter(c -> c.compareTo(d) < 0)
          .orElse(d);
      return new Wait(first, "the provider's rate-limit headers leave no room for " + ErrorClassifier.human(d));
    });
  }

  private String configuredLimits() {
    List<String> limits = new ArrayList<>();
    if (config.rateLimitRpm() > 0) {
      limits.add("rate-limit-rpm = " + config.rateLimitRpm());
    }
    if (config.rateLimitTpm() > 0) {
      limits.add("rate-limit-tpm = " + config.rateLimitTpm());
    }
    return String.join(" and ", limits);
  }

  /** Queues {@code job} for throttle room, or answers it at once when it cannot wait. */
  private void enqueue(Job job, Wait wait, Instant now) {
    if (!now.plus(wait.duration()).isBefore(job.command.deadline())) {
      throttled(job, wait, "the request's deadline comes first");
    } else if (waiting.size() >= config.throttleQueue()) {
      throttled(job, wait, "the local queue is full (throttle-queue = " + config.throttleQueue() + ")");
    } else {
      waiting.addLast(job);
      if (waiting.size() == 1) {
        timers.startSingleTimer(THROTTLE_TIMER, ThrottleRoom.INSTANCE, wait.duration());
      }
    }
  }

  /** Starts queued jobs in order while there is room; re-arms the timer for the first that must wait. */
  private void drainQueue() {
    while (!waiting.isEmpty()) {
      Job head = waiting.peekFirst();
      if (!admitted(head, Instant.now())) {
        continue;
      }
      Optional<Wait> wait = startOrWait(head);
      if (wait.isEmpty()) {
        waiting.remove(head);
      } else if (!Instant.now().plus(wait.get().duration()).isBefore(head.command.deadline())) {
        throttled(head, wait.get(), "the request's deadline comes first");
      } else {
        timers.startSingleTimer(THROTTLE_TIMER, ThrottleRoom.INSTANCE, wait.get().duration());
        return;
      }
    }
  }

  /** The self-throttle has no room in time: answer now, so the router can fall back. */
  private void throttled(Job job, Wait wait, String why) {
    if (job.calls == 0) {
      refused(job, OutcomeKind.RATE_LIMITED, "self-throttled: " + wait.why() + " and " + why,
          Optional.of(wait.duration()));
    }
    finish(job, failure(job));
  }

  /** No key can take a call: wait for a cooling key (as a rate-limit retry), or end the job. */
  private void noKey(Job job, Instant now) {
    Optional<Instant> cooled = book.earliestCooled(now);
    if (cooled.isPresent()) {
      Duration wait = Duration.between(now, cooled.get());
      if (job.calls == 0) {
        job.lastKind = OutcomeKind.RATE_LIMITED;
        job.lastDetail = "every key is cooling down after a rate limit (ready in " + ErrorClassifier.human(wait) + ")";
        job.lastRetryAfter = Optional.of(wait);
      }
      if (!retryAfterTooLong(job, wait)) {
        scheduleRetry(job, OutcomeKind.RATE_LIMITED, wait);
      }
      return;
    }
    BreakerBook.View view = book.view();
    if (job.calls == 0) {
      job.lastKind = view.reason().orElse(OutcomeKind.UNAVAILABLE);
      job.lastDetail = view.state() == BreakerState.OPEN ? openText(view) : "every key is busy with a probe call";
    }
    finish(job, failure(job));
  }

  private long estimate(Job job) {
    return TokenEstimate.total(job.command.request(), config.maxTokens());
  }

  private void call(Job job, BreakerBook.Key key, Instant now) {
    long attempt = ++attemptSeq;
    job.attempt = attempt;
    job.calls++;
    job.key = key;
    job.started = now;
    if (simulated.isPresent()) {
      if (job.simulatedNumber == 0) {
        job.simulatedNumber = simulated.get().nextMessage();
      }
      RawResponse response = simulated.get().answer(job.simulatedNumber, job.command.request());
      timers.startSingleTimer(attemptTimer(attempt),
          new CallEnded(job.id, attempt, Optional.of(response), ""), config.simulate().latency());
      return;
    }
    Map<String, String> headers = kind.authHeaders(key.secret);
    byte[] body = kind.requestBody(job.command.request(), config.model(), config.maxTokens());
    String url = kind.url(config.baseUrl());
    if (job.command.request().stream()) {
      callStreaming(job, attempt, url, headers, body);
    } else {
      getContext().pipeToSelf(transport.orElseThrow().post(url, headers, body),
          (response, error) -> new CallEnded(job.id, attempt, Optional.ofNullable(response),
              error == null ? "" : describe(error)));
    }
    timers.startSingleTimer(attemptTimer(attempt), new CallEnded(job.id, attempt, Optional.empty(),
        "timed out after " + ErrorClassifier.human(config.timeout())), config.timeout());
  }

  /**
   * A streamed call: the response's head, then (for a 2xx event stream) the wait for the first piece
   * of answer, both within the call's {@code timeout}; any other response is read whole and
   * classified like an ordinary call's.
   */
  private void callStreaming(Job job, long attempt, String url, Map<String, String> headers, byte[] body) {
    HttpTransport http = transport.orElseThrow();
    SharedKillSwitch killSwitch = KillSwitches.shared("provider-" + config.name() + "-" + attempt);
    job.killSwitch = killSwitch;
    CompletionStage<CallEnded> ended = http.open(url, headers, body).thenCompose(response -> {
      int status = response.status().intValue();
      if (status >= 200 && status < 300 && StreamRelay.isEventStream(response)) {
        Source<StreamDelta, NotUsed> deltas = StreamRelay.deltas(response, kind, config.streamIdleTimeout(), killSwitch);
        return StreamRelay.open(deltas, HttpTransport.headers(response), http.materializer())
            .thenApply(opening -> new CallEnded(job.id, attempt, Optional.empty(), "", Optional.of(opening)));
      }
      return http.read(response).thenApply(raw -> new CallEnded(job.id, attempt, Optional.of(raw), ""));
    });
    getContext().pipeToSelf(ended, (done, error) -> error == null ? done
        : new CallEnded(job.id, attempt, Optional.empty(), describe(error)));
  }

  private void callEnded(CallEnded ended) {
    Job job = jobs.get(ended.job());
    if (job == null || job.attempt != ended.attempt()) {
      ended.opening().ifPresent(this::discard);
      return;
    }
    job.attempt = 0;
    timers.cancel(attemptTimer(ended.attempt()));
    Instant now = Instant.now();
    Optional<RawResponse> response = ended.response();
    ErrorClassifier.Verdict verdict;
    Usage usage;
    if (ended.opening().orElse(null) instanceof StreamRelay.Opened opened) {
      committed(job, opened);
      return;
    } else if (ended.opening().orElse(null) instanceof StreamRelay.FailedEarly early) {
      response = Optional.of(new RawResponse(200, early.headers(), ""));
      verdict = new ErrorClassifier.Verdict(new Classification(early.failure().kind(), Optional.empty(),
          "returned 200, then its " + early.failure().message()), Optional.empty());
      usage = early.usage();
    } else {
      if (job.killSwitch != null) {
        job.killSwitch.abort(new java.util.concurrent.TimeoutException(ended.failure()));
      }
      verdict = response
          .map(r -> ErrorClassifier.verdict(kind, config.authErrorsMeanQuota(), r.status(), r.headers(), r.body(), now))
          .orElseGet(() -> new ErrorClassifier.Verdict(
              new Classification(OutcomeKind.UNAVAILABLE, Optional.empty(), ended.failure()), Optional.empty()));
      usage = verdict.completion().map(Completion::usage).orElse(Usage.NONE);
    }
    Classification c = verdict.classification();
    int status = response.map(RawResponse::status).orElse(0);
    Map<String, String> headers = response.map(RawResponse::headers).orElse(Map.of());
    learn(job.key, job.estimate, usage, headers, now);
    double cost = spend(job.key, usage, now);
    events.call(new ProviderEvents.CallRecord(now, config.name(), job.key.alias, config.model(),
        job.command.request().origin(), job.calls, status, c.kind(), Duration.between(job.started, now), usage, cost,
        rateLimitHeaders(headers)));
    job.lastKind = c.kind();
    job.lastStatus = status;
    job.lastDetail = redact(c.detail());
    job.lastRetryAfter = c.retryAfter();
    outcome(job.key, c.kind(), job.lastDetail, c.retryAfter(), now);
    switch (c.kind()) {
      case OK -> finish(job, success(job, verdict.completion().orElseThrow(), usage));
      case OUT_OF_CREDITS, BUDGET_EXCEEDED, AUTH_FAILED -> nextKeyOrFinish(job);
      case BAD_REQUEST -> finish(job, failure(job));
      case RATE_LIMITED -> rateLimited(job, c.retryAfter(), now);
      case UNAVAILABLE -> unavailable(job, c.retryAfter());
    }
  }

  private ProviderResult.Success success(Job job, Completion completion, Usage usage) {
    return new ProviderResult.Success(config.name(), job.key.alias, config.model(), completion.text(), usage, job.calls,
        completion.toolCalls(), completion.finishReason());
  }

  /**
   * The first piece of a streamed answer has come: from here on it is the caller's (never retried or
   * fallen back on). The stream is handed on with a meter that reports its end, usage and first-token
   * time back here, where it is accounted like any other call ({@link #streamEnded}).
   */
  private void committed(Job job, StreamRelay.Opened opened) {
    if (!Instant.now().isBefore(job.command.deadline())) {
      // nobody waits for it any more (the router has answered the caller): no bytes for nobody
      discard(opened);
      job.lastKind = OutcomeKind.UNAVAILABLE;
      job.lastStatus = 200;
      job.lastDetail = "the stream began after the request's deadline";
      finish(job, failure(job));
      return;
    }
    BreakerBook.Key key = job.key;
    String origin = job.command.request().origin();
    int attempt = job.calls;
    Instant started = job.started;
    long estimate = job.estimate;
    Duration sinceFirst = Duration.ofNanos(Math.max(0, System.nanoTime() - opened.firstNanos()));
    Duration toFirst = Duration.between(started, Instant.now()).minus(sinceFirst);
    Duration firstToken = toFirst.isNegative() ? Duration.ZERO : toFirst;
    ActorRef<Command> self = getContext().getSelf();
    StreamMeter meter = new StreamMeter();
    Source<StreamDelta, NotUsed> deltas = Source.from(opened.head()).concat(opened.tail())
        .map(meter::see)
        .watchTermination((notUsed, done) -> {
          Stages.inline(done).whenComplete((ok, failure) -> self.tell(new StreamEnded(key, origin, attempt, started, estimate,
              opened.headers(), meter.usage, meter.kind(), meter.detail(), firstToken)));
          return notUsed;
        });
    job.killSwitch = null;
    finish(job, new ProviderResult.Streaming(config.name(), key.alias, config.model(), deltas, job.calls));
  }

  /** What a handed-on stream carried, written by the stream, read once it has ended. */
  private static final class StreamMeter {
    volatile Usage usage = Usage.NONE;
    volatile StreamDelta terminal;

    StreamDelta see(StreamDelta delta) {
      usage = StreamRelay.merge(usage, delta);
      if (delta.terminal()) {
        terminal = delta;
      }
      return delta;
    }

    OutcomeKind kind() {
      return terminal instanceof StreamDelta.Failed f ? f.kind() : OutcomeKind.OK;
    }

    String detail() {
      if (terminal instanceof StreamDelta.Failed f) {
        return "returned 200, then its " + f.message();
      }
      return terminal == null ? "stream cancelled by the caller" : "returned 200 (streamed)";
    }
  }

  /** A streamed answer has ended: its tokens, cost, call-log line and breaker outcome. */
  private void streamEnded(StreamEnded ended) {
    Instant now = Instant.now();
    learn(ended.key(), ended.estimate(), ended.usage(), ended.headers(), now);
    double cost = spend(ended.key(), ended.usage(), now);
    events.call(new ProviderEvents.CallRecord(now, config.name(), ended.key().alias, config.model(), ended.origin(),
        ended.attempt(), 200, ended.kind(), Duration.between(ended.started(), now), ended.usage(), cost,
        rateLimitHeaders(ended.headers()), Optional.of(ended.firstToken())));
    outcome(ended.key(), ended.kind(), redact(ended.detail()), Optional.empty(), now);
  }

  /** A call's cost goes to the spend ledger (and, in a cluster, to the other nodes); returns it. */
  private double spend(BreakerBook.Key key, Usage usage, Instant now) {
    double cost = book.account(key, usage, now);
    share.ifPresent(s -> s.tell(new ProviderShare.PublishSpend(book.ledger.snapshot())));
    return cost;
  }

  /** A call's outcome goes to the breakers (logged, saved, shared) and the budget is checked again. */
  private void outcome(BreakerBook.Key key, OutcomeKind kind, String detail, Optional<Duration> retryAfter, Instant now) {
    List<ProviderEvents.BreakerChange> changes = book.outcome(key, kind, detail, retryAfter, now);
    publish(changes, "");
    shareBreakers(changes, now);
    checkBudget(now);
  }

  /** A streamed call that began after its job had moved on: its bytes are not wanted. */
  private void discard(StreamRelay.Opening opening) {
    if (opening instanceof StreamRelay.Opened opened) {
      opened.tail().runWith(Sink.cancelled(), transport.orElseThrow().materializer());
    }
  }

  /**
   * What a call teaches the throttles: the real token count replaces the estimate (a call that
   * reported no usage keeps it), and the key's throttle takes what the rate-limit headers say
   * (on any response, 429s included).
   */
  private void learn(BreakerBook.Key key, long estimate, Usage usage, Map<String, String> headers, Instant now) {
    if (usage.total() > 0) {
      book.throttle.correct(estimate, usage.total(), now);
    }
    RateLimitHeaders h = RateLimitHeaders.read(headers, now);
    if (h.saysAnything()) {
      key.throttle.learn(h.requestsLeft(), h.requestsReset(), h.tokensLeft(), h.tokensReset(), now);
    }
  }

  /**
   * The key is now open: the same message may go to another key of the pool at once. When the whole
   * provider is open the answer carries the time until the breaker may close, as every later refusal
   * by the same breaker does.
   */
  private void nextKeyOrFinish(Job job) {
    BreakerBook.View view = book.view();
    if (view.state() == BreakerState.OPEN) {
      untilClosing(view, Instant.now()).ifPresent(wait -> job.lastRetryAfter = Optional.of(wait));
      finish(job, failure(job));
    } else {
      attempt(job);
    }
  }

  private void rateLimited(Job job, Optional<Duration> retryAfter, Instant now) {
    Optional<Duration> asked = retry.respectRetryAfter() ? retryAfter : Optional.empty();
    Duration wait = asked.orElseGet(() -> backoff(job.retries + 1));
    book.coolDown(job.key, now.plus(wait));
    if (book.anyReady(now)) {
      attempt(job);
    } else if (!retryAfterTooLong(job, wait)) {
      scheduleRetry(job, OutcomeKind.RATE_LIMITED, wait);
    }
  }

  private void unavailable(Job job, Optional<Duration> retryAfter) {
    if (job.probe || book.view().state() == BreakerState.OPEN) {
      finish(job, failure(job));
      return;
    }
    Optional<Duration> asked = retry.respectRetryAfter() ? retryAfter : Optional.empty();
    Duration wait = asked.orElseGet(() -> backoff(job.retries + 1));
    if (!retryAfterTooLong(job, wait)) {
      scheduleRetry(job, OutcomeKind.UNAVAILABLE, wait);
    }
  }

  /** A wait longer than {@code max-retry-after} is not waited out: the failure goes back now. */
  private boolean retryAfterTooLong(Job job, Duration wait) {
    if (retry.respectRetryAfter() && wait.compareTo(retry.maxRetryAfter()) > 0) {
      finish(job, failure(job));
      return true;
    }
    return false;
  }

  private void scheduleRetry(Job job, OutcomeKind kind, Duration wait) {
    Instant startAt = Instant.now().plus(wait);
    if (job.retries >= retry.maxRetries() || !startAt.isBefore(job.command.deadline())) {
      finish(job, failure(job));
      return;
    }
    job.retries++;
    events.retryScheduled(config.name(), kind, wait);
    timers.startSingleTimer(retryTimer(job.id), new RetryNow(job.id), wait);
  }

  private void retryNow(long id) {
    Job job = jobs.get(id);
    if (job != null && admitted(job, Instant.now())) {
      attempt(job);
    }
  }

  private void finish(Job job, ProviderResult result) {
    if (job.killSwitch != null) {
      job.killSwitch.abort(new IllegalStateException("the call's message was answered"));
      job.killSwitch = null;
    }
    jobs.remove(job.id);
    waiting.remove(job);
    timers.cancel(retryTimer(job.id));
    timers.cancel(attemptTimer(job.attempt));
    if (job.probe) {
      book.releaseProviderProbe();
    }
    job.command.replyTo().tell(result);
  }

  private ProviderResult.Failure failure(Job job) {
    return new ProviderResult.Failure(config.name(), job.lastKind, job.lastStatus, job.lastDetail,
        job.lastRetryAfter, job.calls);
  }

  /** How long until an open breaker may close; empty when only an operator can close it. */
  private static Optional<Duration> untilClosing(BreakerBook.View view, Instant now) {
    return view.until().map(u -> Duration.between(now, u)).filter(d -> !d.isNegative());
  }

  private static String openText(BreakerBook.View view) {
    String until = view.until().map(u -> "open until " + u).orElse("open until an operator resets it");
    String why = view.reason().map(OutcomeKind::wire).orElse("unavailable");
    return "breaker " + until + " after " + why + (view.detail().isEmpty() ? "" : " (" + view.detail() + ")");
  }

  /** Every message still being worked on or queued gets its one answer before this incarnation goes. */
  private void answerInFlight() {
    for (Job job : new ArrayList<>(jobs.values())) {
      job.command.replyTo().tell(new ProviderResult.Failure(config.name(), OutcomeKind.UNAVAILABLE, 0,
          "internal error in provider " + config.name() + ", the message was not completed", Optional.empty(),
          job.calls));
    }
    jobs.clear();
    waiting.clear();
    book.abandonProbes();
  }

  // ---- status, logging, helpers ---------------------------------------------------------------

  private ProviderStatus status() {
    Instant now = Instant.now();
    publish(book.tick(now), "");
    BreakerBook.View view = book.view();
    List<ProviderStatus.KeyStatus> keys = new ArrayList<>();
    for (BreakerBook.Key k : book.keys) {
      Optional<Instant> cooling = Optional.ofNullable(k.coolingUntil).filter(now::isBefore);
      keys.add(new ProviderStatus.KeyStatus(k.alias, k.breaker.state,
          Optional.ofNullable(k.breaker.reason).map(OutcomeKind::wire), Optional.ofNullable(k.breaker.until),
          cooling, book.ledger.key(k.alias, now)));
    }
    return new ProviderStatus(config.name(), config.kind().wire(), config.model(), config.priority(),
        config.fallbackOnly(), view.state(), view.reason().map(OutcomeKind::wire), view.until(), keys,
        book.ledger.total(now), book.throttleStatus(waiting.size(), now));
  }

  private ResetResult reset(Optional<String> keyAlias, String by) {
    Instant now = Instant.now();
    Optional<List<ProviderEvents.BreakerChange>> changes =
        keyAlias.isPresent() ? book.reset(keyAlias.get(), now) : Optional.of(book.reset(now));
    if (changes.isEmpty()) {
      return ResetResult.UNKNOWN_KEY;
    }
    List<ProviderEvents.BreakerChange> closed = changes.get().stream().map(c -> c.resetBy(by)).toList();
    getContext().getLog().warn("provider {}{}: breakers reset by an operator via {}, {} closed",
        config.name(), keyAlias.map(a -> " key " + a).orElse(""), by, closed.size());
    publish(closed, "reset by an operator via " + by);
    shareBreakers(closed, now);
    events.reset(config.name(), keyAlias, by, closed.size());
    return new ResetResult(ResetResult.Outcome.RESET, closed.size(), Optional.of(status()));
  }

  /** In a cluster: the key breakers this node opened or closed are opened or closed on every node. */
  private void shareBreakers(List<ProviderEvents.BreakerChange> changes, Instant now) {
    if (share.isPresent() && !changes.isEmpty()) {
      Map<String, ProviderShare.SharedBreaker> out = book.toShare(changes, node, now);
      if (!out.isEmpty()) {
        share.get().tell(new ProviderShare.PublishBreakers(out));
      }
    }
  }

  /** The up members changed: this node's share of the configured rate limits, and who probes. */
  private void clusterChanged(SharedMembers members) {
    node = members.node();
    book.throttle.divideAmong(members.up());
    book.clustered(members.prober());
    getContext().getLog().info("provider {}: {} node(s) up, this one takes 1/{} of its rate limits{}",
        config.name(), members.up(), members.up(), members.prober() ? " and probes its shared breakers" : "");
  }

  private void publish(List<ProviderEvents.BreakerChange> changes, String cause) {
    publish(changes, cause, false);
  }

  /** Logs and reports breaker changes ({@code applied}: made by another node) and saves the breakers. */
  private void publish(List<ProviderEvents.BreakerChange> changes, String cause, boolean applied) {
    if (changes.isEmpty()) {
      return;
    }
    for (ProviderEvents.BreakerChange change : changes) {
      String who = change.keyAlias().map(a -> "key " + a).orElse("provider breaker");
      String why = change.reason().map(OutcomeKind::wire).orElse(cause.isEmpty() ? "recovered" : cause);
      String until = change.to() != BreakerState.OPEN ? ""
          : ", open until " + change.until().map(Instant::toString).orElse("an operator resets it");
      String detail = change.detail().isEmpty() || change.to() == BreakerState.CLOSED ? "" : ": " + change.detail();
      boolean severe = change.to() == BreakerState.OPEN && change.reason().filter(r -> r != OutcomeKind.UNAVAILABLE).isPresent();
      String line = "provider {} {}: {} -> {} ({}){}{}";
      Object[] args = {config.name(), who, change.from().wire(), change.to().wire(), why, until, detail};
      if (severe) {
        getContext().getLog().error(line, args);
      } else {
        getContext().getLog().warn(line, args);
      }
      if (applied) {
        events.breakerApplied(change);
      } else {
        events.breakerChanged(change);
      }
    }
    book.save();
  }

  private Duration backoff(int retryNumber) {
    Duration base = retry.backoff(retryNumber);
    long extra = (long) (base.toMillis() * retry.jitter() * ThreadLocalRandom.current().nextDouble());
    return base.plusMillis(extra);
  }

  /** Keys never leave the actor: a provider echoing one gets it replaced by its alias. */
  private String redact(String text) {
    String out = text;
    for (BreakerBook.Key k : book.keys) {
      if (!k.secret.isEmpty()) {
        out = out.replace(k.secret, k.alias);
      }
    }
    return KEY_LIKE.matcher(out).replaceAll("$1***");
  }

  private Map<String, String> rateLimitHeaders(Map<String, String> headers) {
    Map<String, String> out = new HashMap<>();
    headers.forEach((name, value) -> {
      if (name.equals("retry-after") || name.equals("retry-after-ms") || kind.rateLimitHeader(name)) {
        out.put(name, value);
      }
    });
    return Map.copyOf(out);
  }

  private static String describe(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof java.util.concurrent.CompletionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return "connection failed: " + (message.length() > 160 ? message.substring(0, 157) + "..." : message);
  }

  private static String attemptTimer(long attempt) {
    return "attempt-" + attempt;
  }

  private static String retryTimer(long job) {
    return "retry-" + job;
  }
}
