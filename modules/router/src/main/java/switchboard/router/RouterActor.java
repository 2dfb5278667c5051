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

/**
 * Owns the providers by priority and answers each chat request with exactly one {@link RouteResult},
 * so a channel never has to know which provider answered or why another one did not.
 *
 * <p>Each {@link Route} gets its own short-lived child that walks the providers:
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
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetModels.class, this::onGetModels)
        .onMessage(ResetProvider.class, this::onResetProvider)
        .build();
  }

  private Behavior<Command> onRoute(Route route) {
    route(route);
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
    } else {
      getContext().spawnAnonymous(RouteRequestActor.create(route, order, settings, events));
    }
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
