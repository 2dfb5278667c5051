package switchboard.router;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * PROTOCOL PLACEHOLDER - the behaviour is being written (issue 3). Spawns one conversation actor per
 * conversation id ({@code channel:conversation}, e.g. {@code telegram:12345} or {@code http:abc}) on
 * demand and forwards each message to it; the conversation keeps its recent history and answers its
 * messages in arrival order.
 */
public final class ConversationsActor {

  public sealed interface Command {}

  /** A user's message in conversation {@code conversationId}; exactly one {@link RouteResult} goes back. */
  public record UserMessage(String conversationId, String text, ActorRef<RouteResult> replyTo)
      implements Command {}

  /** Forget the history of {@code conversationId} (Telegram's /new); {@code replyTo} hears when done. */
  public record Reset(String conversationId, ActorRef<Done> replyTo) implements Command {}

  /** The acknowledgement of a {@link Reset}. */
  public enum Done {
    INSTANCE
  }

  private ConversationsActor() {}
}
