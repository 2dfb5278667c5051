package switchboard.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.providers.config.BreakerConfig;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.limits.KeyPicker;
import switchboard.providers.limits.SpendLedger;
import switchboard.providers.limits.Throttle;

/**
 * A provider's state that outlives one actor incarnation: its breakers (one per key, one for the
 * provider: repeated {@code unavailable} or a spending cap), its key pool with the pool strategy
 * ({@link KeyPicker}), its throttles (the configured rpm/tpm for the provider, what each key's
 * rate-limit headers said) and its spend ({@link SpendLedger}, the one source of calls, tokens and
 * cost). It is created once per provider outside the actor and handed to every incarnation, so a
 * crash of the actor neither closes an open breaker, nor forgets what was spent, nor bursts past
 * the rate limit. Breakers and spend are saved to a {@link ProviderStateStore} (the gateway's store,
 * or files) and read back once, before the first message ({@link #restore}). Only the owning actor
 * touches it (one thread at a time); the store writes off that thread.
 */
final class BreakerBook {
  private static final Logger LOG = LoggerFactory.getLogger(BreakerBook.class);

  /** One breaker: open with a reason until a time (none = until an operator acts), or half-open. */
  static final class Breaker {
    BreakerState state = BreakerState.CLOSED;
    OutcomeKind reason;
    Instant until;
    Instant openedAt;
    String detail = "";
    boolean probing;
    /** In a cluster: the {@code at} of the last shared state of this breaker, written here or applied. */
    long sharedAt;

    void open(OutcomeKind why, Instant now, Instant closeAt, String text) {
      state = BreakerState.OPEN;
      reason = why;
      until = closeAt;
      openedAt = now;
      detail = text;
      probing = false;
    }

    void close() {
      state = BreakerState.CLOSED;
      reason = null;
      until = null;
      openedAt = null;
      detail = "";
      probing = false;
    }

    /** Ready for a call: closed, or half-open with no probe under way. */
    boolean callable() {
      return state == BreakerState.CLOSED || (state == BreakerState.HALF_OPEN && !probing);
    }
  }

  /**
   * One key of the pool: its secret (never shown), alias, breaker, rate-limit cool-down and the
   * throttle fed by its provider's rate-limit headers.
   */
  static final class Key {
    final String alias;
    final String secret;
    final Breaker breaker = new Breaker();
    final Throttle throttle = Throttle.unlimited();
    Instant coolingUntil;

    Key(String alias, String secret) {
      this.alias = alias;
      this.secret = secret;
    }

    boolean ready(Instant now) {
      return breaker.callable() && (coolingUntil == null || !now.isBefore(coolingUntil));
    }
  }

  /** How the provider as a whole looks: its own breaker, or all keys open. */
  record View(BreakerState state, Optional<OutcomeKind> reason, Optional<Instant> until, String detail) {
    static final View CLOSED = new View(BreakerState.CLOSED, Optional.empty(), Optional.empty(), "");
  }

  final ProviderConfig config;
  private final BreakerConfig breakerConfig;
  final List<Key> keys;
  final Breaker provider = new Breaker();
  /** The configured {@code rate-limit-rpm} / {@code rate-limit-tpm}, for the provider as a whole. */
  final Throttle throttle;
  /** Calls, tokens and spend per key alias. */
  final SpendLedger ledger;
  private final KeyPicker picker;
  private ProviderStateStore store = ProviderStateStore.NONE;
  private boolean restored;
  private int unavailableInRow;
  private int opens;
  /** In a cluster, whether this node probes a shared key breaker when it is due (the others wait for its verdict). */
  private boolean prober = true;
  private boolean shared;

  /** How long past a shared breaker's time the other nodes wait for the prober's verdict before they probe too. */
  static final Duration SHARED_PROBE_GRACE = Duration.ofSeconds(30);

  /** The reasons a key's breaker opens for every node of a cluster: the provider says the key cannot work now. */
  private static final java.util.Set<OutcomeKind> SHARED_REASONS =
      java.util.EnumSet.of(OutcomeKind.OUT_OF_CREDITS, OutcomeKind.BUDGET_EXCEEDED, OutcomeKind.AUTH_FAILED);

  BreakerBook(ProviderConfig config, BreakerConfig breakerConfig) {
    this.config = config;
    this.breakerConfig = breakerConfig;
    List<Key> pool = new ArrayList<>();
    List<String> aliases = config.keyAliases();
    for (int i = 0; i < config.apiKeys().size(); i++) {
      pool.add(new Key(aliases.get(i), config.apiKeys().get(i)));
    }
    if (pool.isEmpty()) {
      pool.add(new Key(config.name() + "#1", ""));
    }
    this.keys = List.copyOf(pool);
    this.throttle = new Throttle(config.rateLimitRpm(), config.rateLimitTpm());
    this.picker = new KeyPicker(config.keyStrategy(), keys.size());
    Instant now = Instant.now();
    this.ledger = new SpendLedger(keys.stream().map(k -> k.alias).toList(), now);
  }

  /** Whether {@link #restore} has run: it runs once, in the provider actor's first incarnation. */
  boolean restored() {
    return restored;
  }

  /** Takes back what {@code from} had saved, and saves there from now on. */
  void restore(ProviderStateStore from, ProviderStateStore.Saved saved, Instant now) {
    this.store = from;
    saved.breakers().ifPresent(this::load);
    saved.spend().ifPresent(s -> ledger.restore(s, now));
    restored = true;
  }

  // ---- the provider's view -------------------------------------------------------------------

  View view() {
    if (provider.state != BreakerState.CLOSED) {
      return viewOf(provider);
    }
    boolean allOpen = true;
    for (Key k : keys) {
      if (k.breaker.state == BreakerState.CLOSED) {
        return View.CLOSED;
      }
      allOpen &= k.breaker.state == BreakerState.OPEN;
    }
    Key latest =
        keys.stream().filter(k -> k.breaker.openedAt != null)
            .max(Comparator.comparing(k -> k.breaker.openedAt)).orElse(keys.get(0));
    Optional<Instant> until =
        keys.stream().map(k -> k.breaker.until).filter(Objects::nonNull).min(Comparator.naturalOrder());
    return new View(allOpen ? BreakerState.OPEN : BreakerState.HALF_OPEN, Optional.ofNullable(latest.breaker.reason),
        allOpen ? until : Optional.empty(), latest.breaker.detail);
  }

  private static View viewOf(Breaker b) {
    return new View(b.state, Optional.ofNullable(b.reason), Optional.ofNullable(b.until), b.detail);
  }

  // ---- changes ---------------------------------------------------------------------------------

  /**
   * Moves breakers whose time has come from open to half-open; the provider's spending-cap breaker
   * closes outright, since its window has reset and no probe can tell more.
   */
  List<ProviderEvents.BreakerChange> tick(Instant now) {
    return change(now, () -> {
      for (Key k : keys) {
        if (probesHere(k.breaker, now)) {
          halfOpenIfDue(k.breaker, now);
        }
      }
      if (provider.reason == OutcomeKind.BUDGET_EXCEEDED && provider.until != null && !now.isBefore(provider.until)) {
        provider.close();
      }
      halfOpenIfDue(provider, now);
    });
  }

  /**
   * The provider's own spending cap is reached: its breaker opens as {@code budget_exceeded} until
   * the cap's window resets (a no-op when it is already open for that).
   */
  List<ProviderEvents.BreakerChange> overBudget(SpendLedger.CapReached cap, Instant now) {
    return change(now, () -> {
      boolean already = provider.state == BreakerState.OPEN && provider.reason == OutcomeKind.BUDGET_EXCEEDED
          && cap.resetsAt().equals(provider.until);
      if (!already) {
        provider.open(OutcomeKind.BUDGET_EXCEEDED, now, cap.resetsAt(), cap.describe());
      }
    });
  }

  private static void halfOpenIfDue(Breaker b, Instant now) {
    if (b.state == BreakerState.OPEN && b.until != null && !now.isBefore(b.until)) {
      b.state = BreakerState.HALF_OPEN;
      b.probing = false;
    }
  }

  /**
   * What one call's outcome does to the breakers: a key opens on out_of_credits, budget_exceeded or
   * auth_failed; repeated unavailable opens the provider; a half-open breaker closes on a response
   * that proves the provider (or key) works again.
   */
  List<ProviderEvents.BreakerChange> outcome(
      Key key, OutcomeKind kind, String detail, Optional<Duration> retryAfter, Instant now) {
    return change(now, () -> {
      key.breaker.probing = false;
      switch (kind) {
        case OUT_OF_CREDITS -> key.breaker.open(kind, now, config.quotaReset().next(now), detail);
        case BUDGET_EXCEEDED ->
            key.breaker.open(kind, now, retryAfter.map(now::plus).orElse(config.quotaReset().next(now)), detail);
        case AUTH_FAILED -> key.breaker.open(kind, now, null, detail);
        case UNAVAILABLE -> { }
        default -> {
          if (key.breaker.state == BreakerState.HALF_OPEN) {
            key.breaker.close();
          }
        }
      }
      if (kind == OutcomeKind.UNAVAILABLE) {
        unavailableInRow++;
        boolean probeFailed = provider.state == BreakerState.HALF_OPEN;
        if (probeFailed || (provider.state == BreakerState.CLOSED
            && unavailableInRow >= breakerConfig.unavailableThreshold())) {
          opens++;
          provider.open(kind, now, now.plus(breakerConfig.cooldown(opens)),
              (probeFailed ? "probe failed: " : unavailableInRow + " unavailable in a row, last: ") + detail);
        }
      } else {
        unavailableInRow = 0;
        if (provider.state == BreakerState.HALF_OPEN) {
          provider.close();
          opens = 0;
        }
      }
    });
  }

  /** An operator's reset: every breaker closed, cool-downs and failure counts forgotten. */
  List<ProviderEvents.BreakerChange> reset(Instant now) {
    return change(now, () -> {
      for (Key k : keys) {
        resetKey(k);
      }
      provider.close();
      unavailableInRow = 0;
      opens = 0;
    });
  }

  /** An operator's reset of one key: its breaker closed and its cool-down forgotten; empty for an unknown alias. */
  Optional<List<ProviderEvents.BreakerChange>> reset(String alias, Instant now) {
    return key(alias).map(key -> change(now, () -> resetKey(key)));
  }

  private static void resetKey(Key key) {
    key.breaker.close();
    key.coolingUntil = null;
  }

  // ---- the cluster's view ---------------------------------------------------------------------

  /**
   * This provider runs on one node of a cluster: {@code prober} says whether this node probes a
   * shared key breaker when it is due (one node does, so probes are not multiplied by the nodes).
   */
  void clustered(boolean prober) {
    this.shared = true;
    this.prober = prober;
  }

  /** A due shared key breaker half-opens here only on the prober, or once the prober's verdict is overdue. */
  private boolean probesHere(Breaker b, Instant now) {
    return !shared || prober || b.sharedAt == 0 || b.until == null
        || !now.isBefore(b.until.plus(SHARED_PROBE_GRACE));
  }

  /**
   * The key breaker changes among {@code changes} that the other nodes must apply: opened for a
   * reason of the provider's (out_of_credits, budget_exceeded, auth_failed), or closed (a reset, a
   * probe that worked). Marks them as shared at {@code now}.
   */
  Map<String, ProviderShare.SharedBreaker> toShare(List<ProviderEvents.BreakerChange> changes, String node, Instant now) {
    Map<String, ProviderShare.SharedBreaker> out = new LinkedHashMap<>();
    for (ProviderEvents.BreakerChange c : changes) {
      Optional<Key> key = c.keyAlias().flatMap(this::key);
      if (key.isEmpty()) {
        continue;
      }
      Breaker b = key.get().breaker;
      if (c.to() == BreakerState.OPEN && c.reason().filter(SHARED_REASONS::contains).isPresent()) {
        b.sharedAt = now.toEpochMilli();
        out.put(key.get().alias, new ProviderShare.SharedBreaker("open", c.reason().get().wire(),
            c.until().map(Instant::toEpochMilli).orElse(ProviderShare.SharedBreaker.NO_UNTIL), b.sharedAt, c.detail(), node));
      } else if (c.to() == BreakerState.CLOSED) {
        b.sharedAt = now.toEpochMilli();
        out.put(key.get().alias, new ProviderShare.SharedBreaker("closed", "", ProviderShare.SharedBreaker.NO_UNTIL,
            b.sharedAt, "", node));
      }
    }
    return out;
  }

  /**
   * What the other nodes said about this provider's key breakers: an open one opens here too (with
   * its reason and time), a close closes here; each shared state is applied once, and only when it is
   * newer than what this node knows of that breaker.
   */
  List<ProviderEvents.BreakerChange> applyShared(Map<String, ProviderShare.SharedBreaker> byKey, Instant now) {
    return change(now, () -> byKey.forEach((alias, shared) -> key(alias).ifPresent(k -> {
      Breaker b = k.breaker;
      if (shared.at() <= b.sharedAt) {
        return;
      }
      b.sharedAt = shared.at();
      Optional<OutcomeKind> reason = OutcomeKind.fromWire(shared.reason());
      if (shared.state().equals("open") && reason.isPresent()) {
        Instant until = shared.untilMillis() == ProviderShare.SharedBreaker.NO_UNTIL ? null
            : Instant.ofEpochMilli(shared.untilMillis());
        b.open(reason.get(), Instant.ofEpochMilli(shared.at()), until,
            shared.detail() + (shared.detail().isEmpty() ? "" : " ") + "(on node " + shared.node() + ")");
      } else if (shared.state().equals("closed")) {
        resetKey(k);
      }
    })));
  }

  private Optional<Key> key(String alias) {
    return keys.stream().filter(k -> k.alias.equals(alias)).findFirst();
  }

  /** A probe that will never report (the actor stopped): let the next request probe instead. */
  void abandonProbes() {
    provider.probing = false;
    keys.forEach(k -> k.breaker.probing = false);
  }

  /** Takes the provider's half-open probe; false when another request already holds it. */
  boolean takeProviderProbe() {
    if (provider.state != BreakerState.HALF_OPEN || provider.probing) {
      return false;
    }
    provider.probing = true;
    return true;
  }

  /** The probe's request ended without a verdict on the provider: the next request may probe. */
  void releaseProviderProbe() {
    provider.probing = false;
  }

  boolean providerHalfOpen() {
    return provider.state == BreakerState.HALF_OPEN;
  }

  // ---- the key pool ----------------------------------------------------------------------------

  /**
   * The next ready key for which {@code free} holds (its own throttle has room), by the configured
   * strategy; a half-open key taken here becomes its probe.
   */
  Optional<Key> pick(Instant now, Predicate<Key> free) {
    OptionalInt index = picker.next(i -> keys.get(i).ready(now) && free.test(keys.get(i)));
    if (index.isEmpty()) {
      return Optional.empty();
    }
    Key chosen = keys.get(index.getAsInt());
    if (chosen.breaker.state == BreakerState.HALF_OPEN) {
      chosen.breaker.probing = true;
    }
    return Optional.of(chosen);
  }

  /** Whether some key could take a call right now. */
  boolean anyReady(Instant now) {
    return keys.stream().anyMatch(k -> k.ready(now));
  }

  /** When the first cooling key (with a callable breaker) is ready again, if any key is cooling. */
  Optional<Instant> earliestCooled(Instant now) {
    return keys.stream()
        .filter(k -> k.breaker.callable() && k.coolingUntil != null && now.isBefore(k.coolingUntil))
        .map(k -> k.coolingUntil).min(Comparator.naturalOrder());
  }

  /** Whether some ready key has room in its own throttle for {@code tokens} now. */
  boolean anyReadyWithRoom(long tokens, Instant now) {
    return keys.stream().anyMatch(k -> k.ready(now) && k.throttle.waitFor(tokens, now).isZero());
  }

  /**
   * How long until some key that is ready (breaker callable, not cooling down) has room in its own
   * throttle for {@code tokens}; empty when no ready key is held back by its throttle.
   */
  Optional<Duration> keyThrottleWait(long tokens, Instant now) {
    return keys.stream().filter(k -> k.ready(now)).map(k -> k.throttle.waitFor(tokens, now))
        .filter(d -> !d.isZero()).min(Comparator.naturalOrder());
  }

  /**
   * Room left in the current minute: the configured throttle's, tightened by what the keys'
   * headers said (the pool's sum, known only when every key's provider said); -1 = no limit.
   */
  ProviderStatus.Throttle throttleStatus(int queued, Instant now) {
    long keyRequests = 0;
    for (Key k : keys) {
      long left = k.throttle.requestsLeft(now);
      keyRequests = left < 0 || keyRequests < 0 ? -1 : keyRequests + left;
    }
    return new ProviderStatus.Throttle(tighter(throttle.requestsLeft(now), keyRequests), throttle.tokensLeft(now), queued);
  }

  private static long tighter(long a, long b) {
    return a < 0 ? b : b < 0 ? a : Math.min(a, b);
  }

  void coolDown(Key key, Instant until) {
    if (key.coolingUntil == null || key.coolingUntil.isBefore(until)) {
      key.coolingUntil = until;
    }
  }

  /** Counts one call of {@code key} in the ledger and saves the ledger; returns the call's cost. */
  double account(Key key, Usage usage, Instant now) {
    double cost = ledger.record(key.alias, usage, config.price(), now);
    store.saveSpend(ledger.snapshot());
    return cost;
  }

  // ---- change detection, logging data and persistence -----------------------------------------

  private record Snap(Map<String, View> keys, View provider) {}

  private Snap snap() {
    Map<String, View> byKey = new LinkedHashMap<>();
    keys.forEach(k -> byKey.put(k.alias, viewOf(k.breaker)));
    return new Snap(byKey, view());
  }

  private List<ProviderEvents.BreakerChange> change(Instant now, Runnable mutation) {
    if (allClosed()) {
      // the usual case, every call that succeeds: nothing to snapshot when nothing was open
      mutation.run();
      return allClosed() ? List.of() : changesFrom(now, closedSnap());
    }
    Snap before = snap();
    mutation.run();
    return changesFrom(now, before);
  }

  private boolean allClosed() {
    if (provider.state != BreakerState.CLOSED) {
      return false;
    }
    for (Key k : keys) {
      if (k.breaker.state != BreakerState.CLOSED) {
        return false;
      }
    }
    return true;
  }

  private Snap closedSnap() {
    Map<String, View> byKey = new LinkedHashMap<>();
    keys.forEach(k -> byKey.put(k.alias, View.CLOSED));
    return new Snap(byKey, View.CLOSED);
  }

  private List<ProviderEvents.BreakerChange> changesFrom(Instant now, Snap before) {
    Snap after = snap();
    List<ProviderEvents.BreakerChange> changes = new ArrayList<>();
    for (Key k : keys) {
      diff(now, Optional.of(k.alias), before.keys().get(k.alias), after.keys().get(k.alias), changes);
    }
    diff(now, Optional.empty(), before.provider(), after.provider(), changes);
    return changes;
  }

  private void diff(Instant now, Optional<String> alias, View from, View to, List<ProviderEvents.BreakerChange> out) {
    boolean reopened = from.state() == BreakerState.OPEN && to.state() == BreakerState.OPEN
        && (!from.until().equals(to.until()) || !from.reason().equals(to.reason()));
    if (from.state() != to.state() || reopened) {
      out.add(new ProviderEvents.BreakerChange(now, config.name(), alias, from.state(), to.state(),
          to.state() == BreakerState.CLOSED ? Optional.empty() : to.reason(),
          to.until(), to.detail()));
    }
  }

  /** Writes what a save left waiting at once (the actor stops). */
  void flush() {
    store.flush();
  }

  /** Saves the breakers soon, off the caller's thread. */
  void save() {
    store.saveBreakers(toJson());
  }

  private ObjectNode toJson() {
    ObjectNode root = switchboard.providers.wire.Json.MAPPER.createObjectNode();
    root.put("provider", config.name());
    root.put("unavailable-opens", opens);
    root.set("provider-breaker", breakerJson(provider));
    ObjectNode byKey = root.putObject("keys");
    keys.forEach(k -> byKey.set(k.alias, breakerJson(k.breaker).put("fingerprint", fingerprint(k.secret))));
    return root;
  }

  private static ObjectNode breakerJson(Breaker b) {
    ObjectNode node = switchboard.providers.wire.Json.MAPPER.createObjectNode();
    node.put("state", b.state.wire());
    if (b.reason != null) {
      node.put("reason", b.reason.wire());
    }
    if (b.until != null) {
      node.put("until", b.until.toString());
    }
    if (b.openedAt != null) {
      node.put("opened-at", b.openedAt.toString());
    }
    node.put("detail", b.detail);
    return node;
  }

  /**
   * Reads the saved breakers, by key alias (when the key is still the same one). An
   * {@code auth_failed} breaker is not restored: it waits for an operator, and restarting the
   * process is such an act.
   */
  private void load(JsonNode root) {
    try {
      opens = root.path("unavailable-opens").asInt(0);
      restore(root.path("provider-breaker"), provider, "provider " + config.name());
      for (Key k : keys) {
        JsonNode saved = root.path("keys").path(k.alias);
        if (saved.path("fingerprint").asText(fingerprint(k.secret)).equals(fingerprint(k.secret))) {
          restore(saved, k.breaker, "key " + k.alias);
        }
      }
    } catch (RuntimeException e) {
      LOG.error("provider {}: could not restore saved breakers: {}", config.name(), e.toString());
    }
  }

  /**
   * A short, non-reversible fingerprint of a key, so a breaker saved for one key is not applied to
   * a different key that took its alias (the operator replaced it).
   */
  static String fingerprint(String secret) {
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(hash, 0, 4);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }

  private void restore(JsonNode node, Breaker b, String what) {
    Optional<BreakerState> state =
        java.util.Arrays.stream(BreakerState.values()).filter(s -> s.wire().equals(node.path("state").asText())).findFirst();
    Optional<OutcomeKind> reason = OutcomeKind.fromWire(node.path("reason").asText());
    if (state.isEmpty() || state.get() == BreakerState.CLOSED || reason.isEmpty()
        || reason.get() == OutcomeKind.AUTH_FAILED) {
      return;
    }
    b.state = state.get();
    b.reason = reason.get();
    b.until = node.hasNonNull("until") ? Instant.parse(node.path("until").asText()) : null;
    b.openedAt = node.hasNonNull("opened-at") ? Instant.parse(node.path("opened-at").asText()) : Instant.EPOCH;
    b.detail = node.path("detail").asText("");
    b.probing = false;
    LOG.warn("provider {}: restored breaker of {}: {} after {}, until {}", config.name(), what, b.state.wire(),
        b.reason.wire(), b.until == null ? "an operator resets it" : b.until);
  }
}
