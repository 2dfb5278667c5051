package switchboard.router;

import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * The conversations of a cluster node: the same protocol as {@link ConversationsActor}, so the
 * channels do not know the difference, but every message goes through Cluster Sharding to the one
 * {@link ConversationActor} entity of its conversation, wherever in the cluster it lives (and its
 * answer straight back to the caller). Sharding keeps a conversation's messages in the order this
 * node sent them, holds them while the entity starts, recovers or passivates, and starts the entity
 * on another node when its node is downed.
 */
public final class ShardedConversations extends AbstractBehavior<ConversationsActor.Command> {

  /** How long {@link ConversationsActor.GetActive} waits for this node's shard region. */
  static final Duration REGION_TIMEOUT = Duration.ofSeconds(3);

  private final ActorRef<ShardingEnvelope<ConversationActor.Command>> region;
  private final ConversationSettings settings;

  /** Starts sharding of conversations on this node (entities ask {@code router}) and fronts it. */
  public static Behavior<ConversationsActor.Command> create(ActorRef<RouterActor.Command> router, ConversationSettings settings) {
    return Behaviors.setup(context ->
        new ShardedConversations(context, ConversationActor.initSharding(context.getSystem(), router, settings), settings));
  }

  private ShardedConversations(
      ActorContext<ConversationsActor.Command> context, ActorRef<ShardingEnvelope<ConversationActor.Command>> region,
      ConversationSettings settings) {
    super(context);
    this.region = region;
    this.settings = settings;
  }

  @Override
  public Receive<ConversationsActor.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ConversationsActor.UserMessage.class, this::onUserMessage)
        .onMessage(ConversationsActor.Reset.class, this::onReset)
        .onMessage(ConversationsActor.GetHistory.class, this::onGetHistory)
        .onMessage(ConversationsActor.GetActive.class, this::onGetActive)
        .build();
  }

  /** Each message is tracked to its one answer by a {@link ShardedDelivery} of its own. */
  private Behavior<ConversationsActor.Command> onUserMessage(ConversationsActor.UserMessage message) {
    String id = java.util.UUID.randomUUID().toString();
    ActorRef<ShardedDelivery.Mail> delivery =
        getContext().spawnAnonymous(ShardedDelivery.create(region, message, id, settings.requestTimeout()));
    region.tell(ShardedDelivery.firstSending(message, id, settings.requestTimeout(), delivery));
    return this;
  }

  private Behavior<ConversationsActor.Command> onReset(ConversationsActor.Reset reset) {
    send(reset.conversationId(), new ConversationActor.Reset(reset.replyTo()));
    return this;
  }

  private Behavior<ConversationsActor.Command> onGetHistory(ConversationsActor.GetHistory get) {
    send(get.conversationId(), new ConversationActor.GetHistory(get.replyTo()));
    return this;
  }

  /** The conversations whose entities live on this node. */
  private Behavior<ConversationsActor.Command> onGetActive(ConversationsActor.GetActive get) {
    ActorRef<Set<String>> replyTo = get.replyTo();
    ActorRef<ShardRegion.CurrentShardRegionState> answer = getContext().spawnAnonymous(
        Behaviors.setup(self -> {
          self.setReceiveTimeout(REGION_TIMEOUT, new ShardRegion.CurrentShardRegionState(scala.collection.immutable.Set$.MODULE$.empty()));
          return Behaviors.receive(ShardRegion.CurrentShardRegionState.class)
              .onAnyMessage(state -> {
                replyTo.tell(state.getShards().stream()
                    .flatMap(shard -> shard.getEntityIds().stream())
                    .collect(Collectors.toUnmodifiableSet()));
                return Behaviors.stopped();
              })
              .build();
        }));
    ClusterSharding.get(getContext().getSystem()).shardState()
        .tell(new GetShardRegionState(ConversationActor.ENTITY_KEY, answer));
    return this;
  }

  private void send(String conversationId, ConversationActor.Command command) {
    region.tell(new ShardingEnvelope<>(conversationId, command));
  }
}
