package switchboard.providers;

import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * PROTOCOL PLACEHOLDER - the behaviour is being written (issue 2). One actor per configured provider:
 * turns a chat request into exactly the right number of HTTP calls, holds the breakers and the key pool.
 */
public final class ProviderActor {

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

  /** An operator's reset: close every breaker of this provider and its keys (e.g. after fixing a key). */
  public enum ResetBreakers implements Command {
    INSTANCE
  }

  private ProviderActor() {}
}
