package switchboard.channels;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.CborSerializable;
import switchboard.providers.ProviderStatus;

/**
 * The protocol of the gateway's status actor (in supervision), which gathers what {@code
 * /api/status} and the status page show: the providers, every channel, the recent alerts, how the
 * last run stopped and the cluster. Channels only render it.
 */
public final class GatewayStatus {
  private GatewayStatus() {}

  /** What the status actor understands; its own internal messages extend it. */
  public interface Command extends CborSerializable {}

  /** Reply with a {@link Snapshot}; it always comes, with what answered in time. */
  public record Get(ActorRef<Snapshot> replyTo) implements Command {}

  /**
   * The gateway's status now.
   *
   * @param providers the router's view of each provider; empty when the router did not answer in time
   * @param channels every channel in start order; one that did not answer shows state {@code unresponsive}
   * @param extras more top-level fields ({@code alerts}, {@code last_shutdown}, {@code cluster}), any
   *     value Jackson writes
   */
  public record Snapshot(
      Optional<List<ProviderStatus>> providers, List<ChannelStatus> channels, Map<String, Object> extras) {

    public Snapshot {
      channels = List.copyOf(channels);
      extras = Map.copyOf(extras);
    }
  }
}
