package switchboard.channels.telegram;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;
import switchboard.providers.Usage;
import switchboard.router.ConversationsActor;
import switchboard.router.RouteResult;

/**
 * A stand-in ConversationsActor: reports every command to {@code seen}, answers each UserMessage
 * with {@code answer} after {@code delay} (via the scheduler, no sleeping), and acknowledges Reset.
 */
final class StubConversations {
  static final String OUT_OF_CREDITS =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";

  private StubConversations() {}

  static Behavior<ConversationsActor.Command> create(
      ActorRef<ConversationsActor.Command> seen, Function<String, RouteResult> answer, Duration delay) {
    return Behaviors.setup(
        context ->
            Behaviors.receive(ConversationsActor.Command.class)
                .onMessage(
                    ConversationsActor.UserMessage.class,
                    m -> {
                      seen.tell(m);
                      RouteResult result = answer.apply(m.text());
                      if (delay.isZero()) {
                        m.replyTo().tell(result);
                      } else {
                        context.scheduleOnce(delay, m.replyTo(), result);
                      }
                      return Behaviors.same();
                    })
                .onMessage(
                    ConversationsActor.Reset.class,
                    r -> {
                      seen.tell(r);
                      r.replyTo().tell(ConversationsActor.Done.INSTANCE);
                      return Behaviors.same();
                    })
                .build());
  }

  /**
   * A stand-in whose answers come back out of order: the first message of every pair is held, and
   * when the second arrives it is answered at once and the first {@code lag} later (so a channel that
   * sends answers as they come would send the second first).
   */
  static Behavior<ConversationsActor.Command> answeringSecondFirst(
      ActorRef<ConversationsActor.Command> seen, Duration lag) {
    ConversationsActor.UserMessage[] held = new ConversationsActor.UserMessage[1];
    return Behaviors.setup(
        context ->
            Behaviors.receive(ConversationsActor.Command.class)
                .onMessage(
                    ConversationsActor.UserMessage.class,
                    m -> {
                      seen.tell(m);
                      if (held[0] == null) {
                        held[0] = m;
                      } else {
                        m.replyTo().tell(script(m.text()));
                        context.scheduleOnce(lag, held[0].replyTo(), script(held[0].text()));
                        held[0] = null;
                      }
                      return Behaviors.same();
                    })
                .build());
  }

  /** Echoes texts, answers "credits ..." with the 402 failure and "long N" with N characters. */
  static RouteResult script(String text) {
    if (text.startsWith("credits")) {
      return new RouteResult.Failed(
          OutcomeKind.OUT_OF_CREDITS,
          "primary",
          OUT_OF_CREDITS,
          Optional.empty(),
          List.of(
              new ProviderResult.Failure(
                  "primary", OutcomeKind.OUT_OF_CREDITS, 402, "insufficient credits", Optional.empty(), 1)));
    }
    if (text.startsWith("long ")) {
      return answered(longText(Integer.parseInt(text.substring(5))));
    }
    return answered("echo: " + text);
  }

  static RouteResult answered(String text) {
    return new RouteResult.Answered(
        new ProviderResult.Success("primary", "primary#1", "test-model", text, Usage.NONE, 1), List.of());
  }

  /** Words of varying length, so the splitter has spaces to cut at. */
  static String longText(int length) {
    StringBuilder out = new StringBuilder();
    int word = 0;
    while (out.length() < length) {
      out.append("word").append(word++ % 97).append(' ');
    }
    return out.substring(0, length);
  }
}
