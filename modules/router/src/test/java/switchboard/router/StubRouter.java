package switchboard.router;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;

/**
 * A stand-in router that echoes the last user message. Texts starting with {@code fail} fail
 * (out_of_credits); {@code slow} answers after 500 ms; {@code hold} after 1500 ms. Logs
 * {@code recv:<text>} and {@code reply:<text>} in order.
 */
final class StubRouter {
  final List<ChatRequest> requests = new CopyOnWriteArrayList<>();
  final List<String> log = new CopyOnWriteArrayList<>();
  final ActorRef<RouterActor.Command> ref;

  private record Deliver(String text, ActorRef<RouteResult> replyTo, RouteResult result) {}

  StubRouter(ActorTestKit kit) {
    ActorRef<Object> actor = kit.spawn(behavior());
    this.ref = actor.narrow();
  }

  static String lastText(ChatRequest request) {
    List<ChatMessage> messages = request.messages();
    return messages.get(messages.size() - 1).content();
  }

  private Behavior<Object> behavior() {
    return Behaviors.setup(
        context ->
            Behaviors.receive(Object.class)
                .onMessage(
                    RouterActor.Route.class,
                    route -> {
                      requests.add(route.request());
                      String text = lastText(route.request());
                      log.add("recv:" + text);
                      RouteResult result =
                          text.startsWith("fail")
                              ? new RouteResult.Failed(
                                  OutcomeKind.OUT_OF_CREDITS, "p", "no credits", java.util.Optional.empty(), List.of())
                              : new RouteResult.Answered(StubProvider.success("p", "echo:" + text), List.of());
                      Duration delay =
                          text.startsWith("slow") ? Duration.ofMillis(500)
                              : text.startsWith("hold") ? Duration.ofMillis(1500) : Duration.ZERO;
                      Deliver deliver = new Deliver(text, route.replyTo(), result);
                      if (delay.isZero()) {
                        context.getSelf().tell(deliver);
                      } else {
                        context.scheduleOnce(delay, context.getSelf(), deliver);
                      }
                      return Behaviors.same();
                    })
                .onMessage(
                    Deliver.class,
                    deliver -> {
                      log.add("reply:" + deliver.text());
                      deliver.replyTo().tell(deliver.result());
                      return Behaviors.same();
                    })
                .build());
  }
}
