package switchboard.channels;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import switchboard.providers.observe.ProviderHistory;
import switchboard.router.ConversationsActor;
import switchboard.router.RouterActor;

/**
 * What the gateway hands every channel it starts: where messages go ({@code conversations} for
 * chats with a history, {@code router} for stateless calls), the meter registry, the router's
 * {@code request-timeout} (to size asks and histograms), the data directory (for a channel's own
 * files when there is no store), the gateway's {@link GatewayStatus status} and provider history (for
 * a channel that shows them, like the status page) and whether this node may serve now.
 *
 * @param notServing why this node should get no traffic now (a cluster member that is not {@code
 *     Up}), read on every health check, so it must be cheap
 */
public record ChannelContext(
    ActorRef<RouterActor.Command> router,
    ActorRef<ConversationsActor.Command> conversations,
    PrometheusMeterRegistry registry,
    Duration requestTimeout,
    Path dataDir,
    ActorRef<GatewayStatus.Command> status,
    ProviderHistory providerHistory,
    Supplier<Optional<String>> notServing) {}
