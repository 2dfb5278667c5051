package switchboard.providers;

import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import switchboard.providers.limits.SpendLedger;

/**
 * One provider's state as the whole cluster sees it, kept with Pekko Distributed Data next to the
 * node's own {@link ProviderActor} (its parent): every node calls the providers itself, but
 *
 * <p>It is one replicated map per provider ({@code provider:<name>}, written to all nodes at once):
 *
 * <ul>
 *   <li>a key's breaker opened here on out_of_credits, budget_exceeded or auth_failed, and a close
 *       (an operator's reset, a probe that succeeded), goes to every node (entry
 *       {@code breaker:<alias>}, a {@link SharedBreaker});
 *   <li>this node's spend goes to every node (entry {@code spend:<host:port>}, its
 *       {@link SpendLedger.Snapshot}, written on every call), so a budget cap counts the sum;
 *   <li>the up members are counted, so the configured rpm/tpm is divided among them, and the oldest
 *       up member is named the one that probes a shared breaker when it is due.
 * </ul>
 *
 * Each node writes only its own spend entry (under its stable {@code host:port}), so a node that
 * restarts replaces its entry instead of adding to it, and one that left keeps what it spent.
 */
final class ProviderShare extends AbstractBehavior<ProviderShare.Command> {

  /** How long a breaker write waits for every node to have it (it is applied locally at once anyway). */
  static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);

  sealed interface Command {}

  /** Key breakers changed here: tell every node. */
  record PublishBreakers(Map<String, SharedBreaker> byKey) implements Command {}

  /** This node's spend changed: tell every node. */
  record PublishSpend(SpendLedger.Snapshot spend) implements Command {}

  /**
   * Job {@code job} is about to be admitted against a budget: tell the parent what the other nodes
   * have spent as this node's replica has it now (writes reach it as soon as they are made, while
   * change notifications are batched), then {@link ProviderActor.SpendRead}.
   */
  record ReadSpend(long job) implements Command {}

  private record GotSpend(long job, Replicator.GetResponse<LWWMap<String, CborSerializable>> response) implements Command {}

  /**
   * A key's breaker as shared between nodes: open (with its reason, until when, why) or closed;
   * {@code at} (epoch ms) orders them; {@code node} wrote it.
   */
  record SharedBreaker(String state, String reason, long untilMillis, long at, String detail, String node)
      implements CborSerializable {
    static final long NO_UNTIL = -1;
  }

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, CborSerializable>> response) implements Command {}

  private record Written(Replicator.UpdateResponse<?> response) implements Command {}

  private record Membership(ClusterEvent.MemberEvent event) implements Command {}

  private final ActorRef<ProviderActor.Command> parent;
  private final ReplicatorMessageAdapter<Command, LWWMap<String, CborSerializable>> replicator;
  private final org.apache.pekko.cluster.ddata.Key<LWWMap<String, CborSerializable>> key;
  private final SelfUniqueAddress selfUnique;
  private final String self;
  private static final String BREAKER = "breaker:";
  private static final String SPEND = "spend:";
  private int lastUp = -1;
  private boolean lastProber;

  /** The stable name of this node in shared state: its cluster {@code host:port}. */
  static String nodeName(org.apache.pekko.actor.Address address) {
    return address.host().getOrElse(() -> "local") + ":" + address.port().getOrElse(() -> 0);
  }

  static Behavior<Command> create(String provider, ActorRef<ProviderActor.Command> parent) {
    return Behaviors.setup(context ->
        DistributedData.withReplicatorMessageAdapter(
            (ReplicatorMessageAdapter<Command, LWWMap<String, CborSerializable>> replicator) ->
                new ProviderShare(context, provider, parent, replicator)));
  }

  private ProviderShare(
      ActorContext<Command> context,
      String provider,
      ActorRef<ProviderActor.Command> parent,
      ReplicatorMessageAdapter<Command, LWWMap<String, CborSerializable>> replicator) {
    super(context);
    this.parent = parent;
    this.replicator = replicator;
    this.key = LWWMapKey.create("provider:" + provider);
    this.selfUnique = DistributedData.get(context.getSystem()).selfUniqueAddress();
    this.self = nodeName(Cluster.get(context.getSystem()).selfMember().address());
    replicator.subscribe(key, Changed::new);
    Cluster.get(context.getSystem()).subscriptions().tell(Subscribe.create(
        context.messageAdapter(ClusterEvent.MemberEvent.class, Membership::new), ClusterEvent.MemberEvent.class));
    membersChanged();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(PublishBreakers.class, this::onPublishBreakers)
        .onMessage(PublishSpend.class, this::onPublishSpend)
        .onMessage(Changed.class, this::onChanged)
        .onMessage(ReadSpend.class, this::onReadSpend)
        .onMessage(GotSpend.class, this::onGotSpend)
        .onMessage(Written.class, written -> Behaviors.same())
        .onMessage(Membership.class, membership -> onMembership())
        .build();
  }

  private Behavior<Command> onPublishBreakers(PublishBreakers publish) {
    Map<String, CborSerializable> entries = new HashMap<>();
    publish.byKey().forEach((alias, breaker) -> entries.put(BREAKER + alias, breaker));
    write(entries);
    return this;
  }

  private Behavior<Command> onPublishSpend(PublishSpend publish) {
    write(Map.of(SPEND + self, publish.spend()));
    return this;
  }

  private void write(Map<String, CborSerializable> entries) {
    replicator.askUpdate(
        replyTo -> new Replicator.Update<>(key, LWWMap.empty(), new Replicator.WriteAll(WRITE_TIMEOUT), replyTo,
            current -> {
              LWWMap<String, CborSerializable> out = current;
              for (Map.Entry<String, CborSerializable> e : entries.entrySet()) {
                out = out.put(selfUnique, e.getKey(), e.getValue());
              }
              return out;
            }),
        Written::new);
  }

  /** The other nodes' breakers and spend go to the parent (what this node wrote itself it knows). */
  private Behavior<Command> onChanged(Changed changed) {
    if (changed.response() instanceof Replicator.Changed<LWWMap<String, CborSerializable>> c) {
      Map<String, SharedBreaker> breakers = new HashMap<>();
      c.get(key).getEntries().forEach((name, value) -> {
        if (name.startsWith(BREAKER) && value instanceof SharedBreaker b && !b.node().equals(self)) {
          breakers.put(name.substring(BREAKER.length()), b);
        }
      });
      if (!breakers.isEmpty()) {
        parent.tell(new ProviderActor.SharedBreakers(Map.copyOf(breakers)));
      }
      parent.tell(new ProviderActor.SharedSpend(othersSpend(c.get(key))));
    }
    return this;
  }

  private Behavior<Command> onReadSpend(ReadSpend read) {
    replicator.askGet(replyTo -> new Replicator.Get<>(key, Replicator.readLocal(), replyTo),
        response -> new GotSpend(read.job(), response));
    return this;
  }

  private Behavior<Command> onGotSpend(GotSpend got) {
    if (got.response() instanceof Replicator.GetSuccess<LWWMap<String, CborSerializable>> success) {
      parent.tell(new ProviderActor.SharedSpend(othersSpend(success.get(key))));
    }
    parent.tell(new ProviderActor.SpendRead(got.job()));
    return this;
  }

  /** The spend entries of the other nodes, by node. */
  private Map<String, SpendLedger.Snapshot> othersSpend(LWWMap<String, CborSerializable> map) {
    Map<String, SpendLedger.Snapshot> spend = new HashMap<>();
    map.getEntries().forEach((name, value) -> {
      if (name.startsWith(SPEND) && value instanceof SpendLedger.Snapshot snapshot && !name.equals(SPEND + self)) {
        spend.put(name.substring(SPEND.length()), snapshot);
      }
    });
    return Map.copyOf(spend);
  }

  private Behavior<Command> onMembership() {
    membersChanged();
    return this;
  }

  /** Counts the up members and tells the parent when the count, or whether this node probes, changed. */
  private void membersChanged() {
    Cluster cluster = Cluster.get(getContext().getSystem());
    List<Member> up = new java.util.ArrayList<>();
    cluster.state().getMembers().forEach(m -> {
      if (m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp()) {
        up.add(m);
      }
    });
    Optional<Member> oldest = up.stream().min(Comparator.comparing(m -> m, Member.ageOrdering()));
    boolean prober = oldest.map(m -> m.uniqueAddress().equals(cluster.selfMember().uniqueAddress())).orElse(true);
    int count = Math.max(1, up.size());
    if (count != lastUp || prober != lastProber) {
      lastUp = count;
      lastProber = prober;
      parent.tell(new ProviderActor.SharedMembers(count, prober, self));
    }
  }
}
