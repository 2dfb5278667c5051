package switchboard.supervision.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The cluster as this node sees it, for {@code /api/status}, {@code gateway status}, the status
 * page and {@code /health}: read from Pekko's own membership state (no actor of ours keeps it).
 */
public final class ClusterView {

  private ClusterView() {}

  /** {@code {"self": "host:port", "self_status": "up", "leader": ..., "members": [{"address", "status", "reachable"}]}}. */
  public static Map<String, Object> json(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    ClusterEvent.CurrentClusterState state = cluster.state();
    java.util.Set<Member> unreachable = new java.util.HashSet<>();
    state.getUnreachable().forEach(unreachable::add);
    List<Map<String, Object>> members = new ArrayList<>();
    List<Member> sorted = new ArrayList<>();
    state.getMembers().forEach(sorted::add);
    sorted.sort(java.util.Comparator.comparing(m -> hostPort(m.address())));
    for (Member m : sorted) {
      Map<String, Object> member = new LinkedHashMap<>();
      member.put("address", hostPort(m.address()));
      member.put("status", status(m.status()));
      member.put("reachable", !unreachable.contains(m));
      members.add(member);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("self", hostPort(cluster.selfMember().address()));
    out.put("self_status", status(cluster.selfMember().status()));
    Optional.ofNullable(state.getLeader()).ifPresent(leader -> out.put("leader", hostPort(leader)));
    out.put("members", members);
    return out;
  }

  /** Why this node should get no traffic: it is not an {@code Up} member (still joining, leaving, downed). */
  public static Optional<String> notServing(ActorSystem<?> system) {
    MemberStatus status = Cluster.get(system).selfMember().status();
    return status == MemberStatus.up() ? Optional.empty()
        : Optional.of("this node is " + status(status) + " in the cluster, not up");
  }

  static String hostPort(Address address) {
    return address.host().getOrElse(() -> "?") + ":" + address.port().getOrElse(() -> 0);
  }

  /** A member status as a lower-case word: joining, weakly_up, up, leaving, exiting, down, removed. */
  static String status(MemberStatus status) {
    String name = status.toString();
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isUpperCase(c) && i > 0) {
        out.append('_');
      }
      out.append(Character.toLowerCase(c));
    }
    return out.toString().replace("$", "");
  }
}
