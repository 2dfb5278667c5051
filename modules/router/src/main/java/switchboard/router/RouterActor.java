package switchboard.router;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderActor;
import switchboard.providers.ProviderResult;
import switchboard.providers.ProviderStatus;
import switchboard.providers.ResetResult;
import switchboard.providers.Stages;

/**
 * Owns the providers by priority and answers each chat request with exactly one {@link RouteResult},
 * so a channel never has to know which provider answered or why another one did not.
 *
 * <p>Each {@link Route} is walked through the providers by the router itself, its state kept in a map
 * until it is answered (an actor per message cost more than the rest of routing it). Each provider
 * is asked with Pekko's {@code ActorContext.ask}, timed out at the request's deadline:
 *
 * <ul>
 *   <li>Order: the first try goes to the highest-priority provider that is not {@code fallback-only}
 *       (when every provider is fallback-only, the highest-priority one); after it, every other
 *       provider in priority order (fallback-only ones included, ties keep configuration order).
 *   <li>A {@link ProviderResult.Failure} whose kind is in {@code fallback.on} moves on to the next
 *       provider at once; any other kind ({@code auth_failed}, {@code bad_request} by default) ends the
 *       request with that failure. A provider whose breaker is open answers at once with {@code calls = 0}
 *       and the kind that opened it; that is treated like any other failure of that kind.
 *   <li>The whole request is bounded by {@code request-timeout}: every provider gets the same deadline,
 *       and when it passes the caller gets {@code unavailable} ("no provider answered within ...");
 *       later answers are ignored.
 * </ul>
 *
 * <p>Which failure the caller hears about when every provider failed with a fallback kind (the
 * "last meaningful failure"): the <em>last failure that came from a real call</em> ({@code calls > 0}),
 * because it is the freshest news from a provider that was actually asked; when no provider was
 * actually called (every breaker was open), the <em>first</em> refusal, i.e. the highest-priority
 * provider's reason, because it is the one an operator must fix (a primary out of credits, rather than
 * a backup's breaker). A failure that ends the walk (a kind not in {@code fallback.on}) is always the
 * one named. Every failure is also listed, in order, in {@link RouteResult.Failed#attempts()}.
 *
 * <p>{@link GetStatus} asks every provider for its {@link ProviderStatus} (each with a 2 s timeout) and
 * replies the list in priority order; a provider that does not answer is shown {@code open} with
 * reason {@code not responding} rather than left out.
 */
public final class RouterActor extends AbstractBehavior<RouterActor.Command> {

  /** How long {@link GetStatus} waits for each provider. */
  static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);

  public sealed interface Command {}

  /** Route {@code request} through the providers; exactly one {@link RouteResult} goes to {@code replyTo}. */
  public record Route(
      ChatRequest request, Optional<Instant> deadline, Optional<String> model, ActorRef<RouteResult> replyTo)
      implements Command {
    /** Bounded by {@code request-timeout} from now. */
    public Route(ChatRequest request, ActorRef<RouteResult> replyTo) {
      this(request, Optional.empty(), Optional.empty(), replyTo);
    }

    public Route(ChatRequest request, Optional<Instant> deadline, ActorRef<RouteResult> replyTo) {
      this(request, deadline, Optional.empty(), replyTo);
    }
  }

  /**
   * Reply with every model name a caller may send ({@code GET /v1/models}): the routes, then the
   * providers' models, in priority order.
   */
  public record GetModels(ActorRef<List<String>> replyTo) implements Command {}

  /** Reply with every provider's status, in priority order. */
  public record GetStatus(ActorRef<List<ProviderStatus>> replyTo) implements Command {}

  /**
   * An operator's reset of provider {@code provider}'s breakers (only key {@code keyAlias}'s when
   * given), through {@code by}; the provider replies its {@link ResetResult} to {@code replyTo}, or
   * the router {@link ResetResult#UNKNOWN_PROVIDER} when there is no such provider.
   */
  public record ResetProvider(String provider, Optional<String> keyAlias, String by, ActorRef<ResetResult> replyTo)
      implements Command {}

  private final List<ProviderHandle> byPriority;
  private final List<ProviderHandle> attemptOrder;
  /** The chain of each route, and of each provider's name and model (that provider first). */
  private final Map<String, List<ProviderHandle>> chains = new HashMap<>();
  private final ModelRoutes routes;
  /** What {@link GetModels} answers: the routes, then the providers' models. */
  private final List<String> models;
  private final RouterSettings settings;
  private final RouterEvents events;
  /** The messages being walked through the providers, by walk number. */
  private final Map<Long, Walk> walks = new HashMap<>();
  private long walkSeq;

  /** A provider's answer to walk {@code walk}, or the ask's failure (its deadline passed). */
  private record ProviderAnswered(long walk, ProviderResult result, Throwable failure) implements Command {}

  /** One message on its way through the providers. */
  private static final class Walk {
    final long id;
    final Route route;
    final List<ProviderHandle> order;
    final long startNanos = System.nanoTime();
    final Instant deadline;
    final List<ProviderResult.Failure> failures = new ArrayList<>(2);
    int current = -1;

    Walk(long id, Route route, List<ProviderHandle> order, Duration requestTimeout) {
      this.id = id;
      this.route = route;
      this.order = order;
      Instant byTimeout = Instant.now().plus(requestTimeout);
      this.deadline = route.deadline().filter(d -> d.isBefore(byTimeout)).orElse(byTimeout);
    }
  }

  public static Behavior<Command> create(List<ProviderHandle> providers, RouterSettings settings) {
    return create(providers, settings, RouterEvents.NONE);
  }

  public static Behavior<Command> create(
      List<ProviderHandle> providers, RouterSettings settings, RouterEvents events) {
    return create(providers, settings, events, ModelRoutes.NONE);
  }

  /** A router that also routes by the request's {@code model} ({@code switchboard.routes}). */
  public static Behavior<Command> create(
      List<ProviderHandle> providers, RouterSettings settings, RouterEvents events, ModelRoutes routes) {
    return Behaviors.setup(context -> new RouterActor(context, providers, settings, events, routes));
  }

  private RouterActor(
      ActorContext<Command> context, List<ProviderHandle> providers, RouterSettings settings, RouterEvents events,
      ModelRoutes routes) {
    super(context);
    this.byPriority =
        providers.stream().sorted(Comparator.comparingInt(ProviderHandle::priority)).toList();
    this.attemptOrder = attemptOrder(byPriority);
    this.settings = settings;
    this.events = events;
    this.routes = routes;
    this.models = routes.models(byPriority.stream().map(ProviderHandle::model).filter(m -> !m.isEmpty()).toList());
    for (ProviderHandle h : byPriority) {
      List<ProviderHandle> first = new ArrayList<>(List.of(h));
      attemptOrder.stream().filter(o -> o != h).forEach(first::add);
      chains.putIfAbsent(h.name(), List.copyOf(first));
      if (!h.model().isEmpty()) {
        chains.putIfAbsent(h.model(), List.copyOf(first));
      }
    }
    routes.routes().forEach((name, chain) -> chains.put(name, chain.stream()
        .flatMap(p -> byPriority.stream().filter(h -> h.name().equals(p))).toList()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Route.class, this::onRoute)
        .onMessage(ProviderAnswered.class, this::onProviderAnswered)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetModels.class, this::onGetModels)
        .onMessage(ResetProvider.class, this::onResetProvider)
        .build();
  }

  private Behavior<Command> onRoute(Route route) {
    route(route);
    return this;
  }

  private Behavior<Command> onProviderAnswered(ProviderAnswered answered) {
    providerAnswered(answered);
    return this;
  }

  /**
   * The chain for the request's {@code model}: a route's, a provider's own (by name or model, that
   * provider first), else the default chain, or a {@code model_not_found} refusal with
   * {@code unknown-models = "reject"}.
   */
  private void route(Route route) {
    String model = route.model().map(String::trim).orElse("");
    List<ProviderHandle> order = model.isEmpty() || model.equals(ModelRoutes.DEFAULT_MODEL)
        ? attemptOrder : chains.get(model);
    if (order == null && routes.rejectUnknown()) {
      route.replyTo().tell(new RouteResult.Rejected("The model \"" + model + "\" does not exist here. Available models: "
          + String.join(", ", models) + ".", "model_not_found"));
      return;
    }
    walk(route, order == null ? attemptOrder : order);
  }

  private void walk(Route route, List<ProviderHandle> order) {
    if (order.isEmpty()) {
      RouteResult result =
          new RouteResult.Failed(OutcomeKind.UNAVAILABLE, "", ErrorTexts.noProviders(), Optional.empty(), List.of());
      events.routed(result, Duration.ZERO);
      route.replyTo().tell(result);
      return;
    }
    Walk walk = new Walk(++walkSeq, route, order, settings.requestTimeout());
    walks.put(walk.id, walk);
    askNext(walk);
  }

  /** Asks the walk's next provider, within what is left of its deadline. */
  private void askNext(Walk walk) {
    walk.current++;
    Duration left = Duration.between(Instant.now(), walk.deadline);
    if (left.isNegative() || left.isZero()) {
      deadlinePassed(walk);
      return;
    }
    long id = walk.id;
    Instant deadline = walk.deadline;
    ChatRequest request = walk.route.request();
    Stages.<ProviderActor.Command, ProviderResult, Command>ask(getContext(), walk.order.get(walk.current).ref(), left,
        replyTo -> new ProviderActor.Complete(request, deadline, replyTo),
        (result, failure) -> new ProviderAnswered(id, result, failure));
  }

  private void providerAnswered(ProviderAnswered answered) {
    Walk walk = walks.get(answered.walk());
    if (walk == null) {
      return;
    }
    if (answered.result() instanceof ProviderResult.Success success) {
      finish(walk, new RouteResult.Answered(success, List.copyOf(walk.failures)));
    } else if (answered.result() instanceof ProviderResult.Streaming streaming) {
      finish(walk, new RouteResult.Streaming(streaming, List.copyOf(walk.failures)));
    } else if (answered.result() instanceof ProviderResult.Failure failure) {
      failed(walk, failure);
    } else {
      deadlinePassed(walk);
    }
  }

  private void failed(Walk walk, ProviderResult.Failure failure) {
    walk.failures.add(failure);
    if (!movesOn(failure)) {
      finish(walk, failed(walk, failure, walk.failures));
      return;
    }
    if (walk.current + 1 >= walk.order.size()) {
      finish(walk, failed(walk, mostMeaningful(walk.failures), walk.failures));
      return;
    }
    String from = walk.order.get(walk.current).name();
    String to = walk.order.get(walk.current + 1).name();
    getContext().getLog().info("fallback {} -> {} ({}) for {}", from, to, failure.kind().wire(),
        walk.route.request().origin());
    events.fallback(from, to, failure.kind());
    askNext(walk);
  }

  private void deadlinePassed(Walk walk) {
    String asking = walk.order.get(Math.min(walk.current, walk.order.size() - 1)).name();
    finish(walk, new RouteResult.Failed(OutcomeKind.UNAVAILABLE, asking,
        ErrorTexts.timedOut(asking, settings.requestTimeout()), Optional.empty(), List.copyOf(walk.failures)));
  }

  /**
   * A failure moves the message on to the next provider when its kind is listed in
   * {@code fallback.on}, or when the provider made no call at all: an open breaker (or a full
   * throttle queue) means the provider is not eligible now, whatever kind opened it, so an
   * {@code auth_failed} primary ends the one message that met the refusal and later messages are
   * served by the next provider until an operator fixes the key.
   */
  private boolean movesOn(ProviderResult.Failure failure) {
    return failure.calls() == 0 || settings.fallbackOn().contains(failure.kind());
  }

  private static RouteResult.Failed failed(Walk walk, ProviderResult.Failure named, List<ProviderResult.Failure> all) {
    return new RouteResult.Failed(
        named.kind(), named.provider(), ErrorTexts.of(named), named.retryAfter(), List.copyOf(all));
  }

  /** Records the outcome (before replying, so whoever sees the answer also sees it counted) and answers. */
  private void finish(Walk walk, RouteResult result) {
    walks.remove(walk.id);
    events.routed(result, Duration.ofNanos(System.nanoTime() - walk.startNanos));
    walk.route.replyTo().tell(result);
  }

  private Behavior<Command> onGetModels(GetModels request) {
    request.replyTo().tell(models);
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus request) {
    if (byPriority.isEmpty()) {
      request.replyTo().tell(List.of());
    } else {
      getContext().spawnAnonymous(StatusCollector.create(byPriority, request.replyTo(), STATUS_TIMEOUT));
    }
    return this;
  }

  private Behavior<Command> onResetProvider(ResetProvider reset) {
    byPriority.stream()
        .filter(h -> h.name().equals(reset.provider()))
        .findFirst()
        .ifPresentOrElse(
            h -> h.ref().tell(new ProviderActor.Reset(reset.keyAlias(), reset.by(), reset.replyTo())),
            () -> reset.replyTo().tell(ResetResult.UNKNOWN_PROVIDER));
    return this;
  }

  /** The order one message tries the providers in (see the class comment). */
  static List<ProviderHandle> attemptOrder(List<ProviderHandle> byPriority) {
    ProviderHandle first =
        byPriority.stream().filter(h -> !h.fallbackOnly()).findFirst().orElse(null);
    if (first == null) {
      return byPriority;
    }
    List<ProviderHandle> order = new ArrayList<>(byPriority.size());
    order.add(first);
    byPriority.stream().filter(h -> h != first).forEach(order::add);
    return List.copyOf(order);
  }

  /** The failure to name when every provider failed with a fallback kind (see the class comment). */
  static ProviderResult.Failure mostMeaningful(List<ProviderResult.Failure> failures) {
    for (int i = failures.size() - 1; i >= 0; i--) {
      if (failures.get(i).calls() > 0) {
        return failures.get(i);
      }
    }
    return failures.get(0);
  }
}
