package switchboard.router;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.ChatRequest;
import switchboard.providers.ProviderStatus;

/**
 * PROTOCOL PLACEHOLDER - the behaviour is being written (issue 3). Owns the providers by priority and
 * answers each chat request with exactly one {@link RouteResult}.
 */
public final class RouterActor {

  public sealed interface Command {}

  /** Route {@code request} through the providers; exactly one {@link RouteResult} goes to {@code replyTo}. */
  public record Route(ChatRequest request, ActorRef<RouteResult> replyTo) implements Command {}

  /** Reply with every provider's status, in priority order. */
  public record GetStatus(ActorRef<List<ProviderStatus>> replyTo) implements Command {}

  private RouterActor() {}
}
