package switchboard.router;

import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.ProviderActor;

/** A running provider actor as the router sees it, in priority order; {@code model} is its configured model. */
public record ProviderHandle(
    String name, int priority, boolean fallbackOnly, ActorRef<ProviderActor.Command> ref, String model) {

  public ProviderHandle(String name, int priority, boolean fallbackOnly, ActorRef<ProviderActor.Command> ref) {
    this(name, priority, fallbackOnly, ref, "");
  }
}
