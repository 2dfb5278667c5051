package switchboard.channels.http;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;
import switchboard.providers.ProviderStatus;
import switchboard.providers.Usage;
import switchboard.router.ConversationsActor;
import switchboard.router.RouteResult;
import switchboard.router.RouterActor;

/** Stand-ins for the router and the conversations that answer canned results or hand messages to a probe. */
final class Stubs {
  private Stubs() {}

  static RouteResult.Answered answered(String provider, String model, String text) {
    return new RouteResult.Answered(
        new ProviderResult.Success(provider, provider + "#1", model, text, new Usage(11, 7), 1), List.of());
  }

  static RouteResult.Failed failed(OutcomeKind kind, String provider, String message, Optional<Duration> retryAfter) {
    return new RouteResult.Failed(kind, provider, message, retryAfter, List.of());
  }

  /** A router that answers each Route with {@code answer} and GetStatus with {@code statuses}. */
  static Behavior<RouterActor.Command> router(Function<ChatRequest, RouteResult> answer, List<ProviderStatus> statuses) {
    return Behaviors.receive(RouterActor.Command.class)
        .onMessage(RouterActor.Route.class, route -> {
          route.replyTo().tell(answer.apply(route.request()));
          return Behaviors.same();
        })
        .onMessage(RouterActor.GetStatus.class, get -> {
          get.replyTo().tell(statuses);
          return Behaviors.same();
        })
        .build();
  }

  /** A router (or conversations) that hands every message to {@code probe}: the test answers, or never does. */
  static <T> Behavior<T> forwardTo(ActorRef<T> probe) {
    return Behaviors.receiveMessage(message -> {
      probe.tell(message);
      return Behaviors.same();
    });
  }

  /** Conversations that answer with {@code answer} applied to the user's text. */
  static Behavior<ConversationsActor.Command> conversations(Function<ConversationsActor.UserMessage, RouteResult> answer) {
    return Behaviors.receive(ConversationsActor.Command.class)
        .onMessage(ConversationsActor.UserMessage.class, message -> {
          message.replyTo().tell(answer.apply(message));
          return Behaviors.same();
        })
        .onMessage(ConversationsActor.Reset.class, reset -> {
          reset.replyTo().tell(ConversationsActor.Done.INSTANCE);
          return Behaviors.same();
        })
        .build();
  }
}
