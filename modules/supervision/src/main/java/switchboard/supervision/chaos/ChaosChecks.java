package switchboard.supervision.chaos;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import switchboard.providers.OutcomeKind;
import switchboard.providers.config.ProviderConfig;
import switchboard.supervision.GatewayConfig;
import switchboard.supervision.chaos.ChaosHistory.Answer;
import switchboard.supervision.chaos.ChaosHistory.AnswerKind;
import switchboard.supervision.chaos.ChaosHistory.BreakerView;
import switchboard.supervision.chaos.ChaosHistory.Call;
import switchboard.supervision.chaos.ChaosHistory.Channel;
import switchboard.supervision.chaos.ChaosHistory.Message;
import switchboard.supervision.chaos.ChaosHistory.ProcessChange;
import switchboard.supervision.chaos.ChaosHistory.ProcessEvent;
import switchboard.supervision.chaos.ChaosHistory.StatusPoll;

/**
 * The promises a soak checks, each a pure function of what it saw ({@link Evidence}), so that each
 * can be shown to fail on a history that breaks it. A {@link Row} with a bound is a check; one
 * without is a measurement shown with them.
 */
final class ChaosChecks {

  /** Heap growth (after a full GC) one gateway process may show between its start and its end. */
  static final long HEAP_GROWTH_BOUND = 64L << 20;
  /** Thread growth one gateway process may show between its start and its end. */
  static final int THREAD_GROWTH_BOUND = 40;
  /** A call this soon after the gateway's status first showed a breaker open may have been on its way already. */
  static final Duration OPEN_GRACE = Duration.ofMillis(300);
  /** Clock and timer slack allowed on a retry's wait. */
  static final Duration TIMER_SLACK = Duration.ofMillis(25);
  /** How long after a recorded kill or exit a call is still the ended process's ({@link #stops}). */
  static final Duration STOP_SLACK = Duration.ofSeconds(1);
  /** How long after a provider's spend reached its cap the gateway may still start calls (the answer is on its way). */
  static final Duration CAP_GRACE = Duration.ofSeconds(1);
  /**
   * How long after Telegram took a reply a SIGKILL may still find it unrecorded (the store's write
   * of "answered" is in flight), so that the reply is sent again after the restart.
   */
  static final Duration SEND_RECORD_WINDOW = Duration.ofSeconds(1);
  /** How long a Discord message may wait for its answer before a restart in that time no longer explains its loss. */
  static final Duration DISCORD_ANSWER_WINDOW = Duration.ofSeconds(60);
  /** What a SIGKILL may lose of the spend by design: spend is written at most this long after a call. */
  static final Duration SPEND_WRITE_DELAY = Duration.ofMillis(300);

  /** One line of the table; {@code bound} empty for a measurement (always ok). */
  record Row(String check, String value, String bound, boolean ok, String detail) {
    static Row measured(String check, String value) {
      return new Row(check, value, "", true, "");
    }

    boolean isCheck() {
      return !bound.isEmpty();
    }
  }

  /** What the checks hold the gateway to, read from the config the soak checks against. */
  record Bounds(int maxRetries, Duration backoffBase, boolean respectRetryAfter, Duration maxRetryAfter,
      Map<String, Double> caps) {
    static Bounds of(GatewayConfig config) {
      Map<String, Double> caps = new HashMap<>();
      for (ProviderConfig p : config.providers()) {
        if (p.budget().daily() > 0) {
          caps.put(p.name(), p.budget().daily());
        }
      }
      return new Bounds(config.retry().maxRetries(), config.retry().backoffBase(), config.retry().respectRetryAfter(),
          config.retry().maxRetryAfter(), caps);
    }
  }

  /**
   * Everything the checks read.
   *
   * @param drops HTTP requests whose connection failed
   * @param texts what the gateway printed or served, by place (a log file's name, "GET /metrics", ...)
   * @param userTurns the user turns each HTTP conversation's stored history holds at the end, as message ids
   */
  record Evidence(ChaosHistory history, List<ChaosLoad.Drop> drops, Bounds bounds, List<String> secrets,
      Map<String, String> texts, Map<String, List<String>> userTurns) {}

  private ChaosChecks() {}

  static List<Row> all(Evidence e) {
    Map<String, List<Answer>> answers = new HashMap<>();
    for (Answer a : e.history().answers) {
      answers.computeIfAbsent(a.messageId(), k -> new ArrayList<>()).add(a);
    }
    List<Message> messages = new ArrayList<>(e.history().messages);
    List<Row> rows = new ArrayList<>();
    rows.add(Row.measured("messages sent", messages.size() + " (" + byChannel(messages) + ")"));
    long once = messages.stream().filter(m -> answers.getOrDefault(m.id(), List.of()).size() == 1).count();
    rows.add(Row.measured("answered once", Long.toString(once)));
    rows.add(answeredTwice(messages, answers, e.userTurns(), e.history().kills()));
    rows.add(resentAcrossKill(messages, answers, e.history().kills()));
    List<Instant[]> down = downIntervals(e.history());
    rows.add(lost(messages, answers, down));
    rows.add(discordLostToRestart(messages, answers, down));
    rows.add(unclear(answers));
    rows.add(unexplainedDrops(e));
    rows.add(cutBySigterm(e));
    rows.addAll(callsByOutcome(e.history()));
    rows.add(callsBeyondBounds(e));
    rows.add(callsWhileOpen(e.history()));
    rows.addAll(spend(e));
    rows.add(secrets(e));
    rows.add(heapAndThreads(e.history()));
    rows.add(processExits(e.history()));
    rows.addAll(latency(messages, answers));
    return rows;
  }

  // ---- answers ----------------------------------------------------------------------------------

  static Row answeredTwice(
      List<Message> messages, Map<String, List<Answer>> answers, Map<String, List<String>> turns, List<Instant> kills) {
    List<String> twice = new ArrayList<>();
    for (Message m : messages) {
      List<Answer> a = answers.getOrDefault(m.id(), List.of());
      if (a.size() > 1 && resentAfter(m, a, kills).isEmpty()) {
        twice.add(m.id());
      }
    }
    for (Map.Entry<String, List<String>> t : turns.entrySet()) {
      Map<String, Long> counts = t.getValue().stream().collect(Collectors.groupingBy(id -> id, Collectors.counting()));
      counts.forEach((id, n) -> {
        if (n > 1) {
          twice.add(id + " (stored " + n + " times in " + t.getKey() + ")");
        }
      });
    }
    return new Row("answered twice", Integer.toString(twice.size()), "0", twice.isEmpty(), first(twice));
  }

  /**
   * A Telegram answer sent again because a SIGKILL came after Telegram took the reply and before
   * the gateway recorded it (within {@link #SEND_RECORD_WINDOW}): {@code sendMessage} has no
   * idempotency key, so a gateway that must lose nothing sends again what it cannot know was sent.
   * Counted, not failed: no bound can be met there. Empty when that does not explain the answers.
   */
  static Optional<Duration> resentAfter(Message m, List<Answer> a, List<Instant> kills) {
    if (m.channel() != Channel.TELEGRAM || a.size() != 2) {
      return Optional.empty();
    }
    List<Answer> sorted = a.stream().sorted(Comparator.comparing(Answer::at)).toList();
    Instant first = sorted.get(0).at();
    Instant second = sorted.get(1).at();
    return kills.stream()
        .filter(k -> !k.isBefore(first) && !k.isAfter(first.plus(SEND_RECORD_WINDOW)) && second.isAfter(k))
        .findFirst().map(k -> Duration.between(first, k));
  }

  static Row resentAcrossKill(List<Message> messages, Map<String, List<Answer>> answers, List<Instant> kills) {
    List<String> resent = new ArrayList<>();
    for (Message m : messages) {
      resentAfter(m, answers.getOrDefault(m.id(), List.of()), kills)
          .ifPresent(gap -> resent.add(m.id() + " (SIGKILL " + gap.toMillis() + " ms after Telegram took the reply)"));
    }
    return Row.measured("Telegram replies re-sent after a SIGKILL at the send",
        resent.size() + (resent.isEmpty() ? "" : ": " + String.join(", ", resent.subList(0, Math.min(3, resent.size())))
            + (resent.size() > 3 ? ", ..." : "")));
  }

  static Row lost(List<Message> messages, Map<String, List<Answer>> answers, List<Instant[]> down) {
    List<String> lost = messages.stream().filter(m -> !answers.containsKey(m.id()) && !lostToRestart(m, down))
        .map(m -> m.id() + " (" + m.channel().label + ")").toList();
    return new Row("lost", Integer.toString(lost.size()), "0", lost.isEmpty(), first(lost));
  }

  /**
   * A Discord message with no answer whose gateway went down (or was down) before it could answer:
   * Discord hands a new session nothing that was sent to the old one, and the contract does not
   * promise these (only Telegram's updates wait at Telegram). Counted, not failed.
   */
  static boolean lostToRestart(Message m, List<Instant[]> down) {
    Instant from = m.sentAt().minusSeconds(1);
    Instant to = m.sentAt().plus(DISCORD_ANSWER_WINDOW);
    return m.channel() == Channel.DISCORD && down.stream().anyMatch(i -> !i[0].isAfter(to) && !i[1].isBefore(from));
  }

  static Row discordLostToRestart(List<Message> messages, Map<String, List<Answer>> answers, List<Instant[]> down) {
    long n = messages.stream().filter(m -> !answers.containsKey(m.id()) && lostToRestart(m, down)).count();
    return Row.measured("Discord messages lost to a restart (not redelivered to a new session)", Long.toString(n));
  }

  static Row unclear(Map<String, List<Answer>> answers) {
    List<String> unclear = answers.values().stream().flatMap(List::stream)
        .filter(a -> a.kind() == AnswerKind.UNCLEAR).map(a -> a.messageId() + ": " + a.detail()).sorted().toList();
    return new Row("answers that name nothing", Integer.toString(unclear.size()), "0", unclear.isEmpty(), first(unclear));
  }

  /** A dropped connection is the kill's when the gateway was down, or went down, between its send and its failure. */
  static Row unexplainedDrops(Evidence e) {
    List<Instant[]> down = downIntervals(e.history());
    List<String> unexplained = new ArrayList<>();
    for (ChaosLoad.Drop d : e.drops()) {
      Instant from = d.sent().minusSeconds(1);
      Instant to = d.failed().plusSeconds(1);
      boolean explained = down.stream().anyMatch(i -> !i[0].isAfter(to) && !i[1].isBefore(from));
      if (!explained) {
        unexplained.add(d.messageId() + ": " + d.error());
      }
    }
    return new Row("connections dropped with no kill", Integer.toString(unexplained.size()), "0",
        unexplained.isEmpty(), first(unexplained));
  }

  /**
   * A request the gateway had surely accepted (sent a second or more before a SIGTERM) whose
   * connection failed before the process exited: SIGTERM must let answers in flight finish.
   */
  static Row cutBySigterm(Evidence e) {
    List<ProcessEvent> events = e.history().process.stream().sorted(Comparator.comparing(ProcessEvent::at)).toList();
    List<String> cut = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      if (events.get(i).change() != ProcessChange.STOPPING) {
        continue;
      }
      Instant term = events.get(i).at();
      Instant exit = i + 1 < events.size() ? events.get(i + 1).at() : Instant.MAX;
      for (ChaosLoad.Drop d : e.drops()) {
        if (d.sent().isBefore(term.minusSeconds(1)) && d.failed().isAfter(term) && d.failed().isBefore(exit)) {
          cut.add(d.messageId() + ": " + d.error());
        }
      }
    }
    return new Row("answers cut short by SIGTERM", Integer.toString(cut.size()), "0", cut.isEmpty(), first(cut));
  }

  /** The times the gateway was down: from each SIGTERM, kill or death to the next start (or forever). */
  static List<Instant[]> downIntervals(ChaosHistory history) {
    List<ProcessEvent> events = history.process.stream().sorted(Comparator.comparing(ProcessEvent::at)).toList();
    List<Instant[]> down = new ArrayList<>();
    Instant since = null;
    for (ProcessEvent p : events) {
      if (p.change() == ProcessChange.STARTED) {
        if (since != null) {
          down.add(new Instant[] {since, p.at()});
          since = null;
        }
      } else if (since == null) {
        since = p.at();
      }
    }
    if (since != null) {
      down.add(new Instant[] {since, Instant.MAX});
    }
    return down;
  }

  // ---- calls ------------------------------------------------------------------------------------

  static List<Row> callsByOutcome(ChaosHistory history) {
    Map<OutcomeKind, Integer> counts = new EnumMap<>(OutcomeKind.class);
    Map<String, Integer> perMessage = new HashMap<>();
    for (Call c : history.calls) {
      counts.merge(c.outcome(), 1, Integer::sum);
      c.messageId().ifPresent(id -> perMessage.merge(id, 1, Integer::sum));
    }
    String byKind = counts.entrySet().stream().map(en -> en.getKey().wire() + " " + en.getValue())
        .collect(Collectors.joining(", "));
    int max = perMessage.values().stream().mapToInt(Integer::intValue).max().orElse(0);
    double mean = perMessage.values().stream().mapToInt(Integer::intValue).average().orElse(0);
    return List.of(
        Row.measured("provider calls, by the outcome they had", history.calls.size() + (byKind.isEmpty() ? "" : " (" + byKind + ")")),
        Row.measured("provider calls per message", String.format(Locale.ROOT, "mean %.2f, max %d", mean, max)));
  }

  /**
   * Each message's calls, per gateway process (a restarted gateway starts the message afresh): a
   * key that answered out_of_credits, budget_exceeded, auth_failed or bad_request is not called
   * again; a key gets at most 1 + max-retries calls; a provider at most max-retries retries after
   * unavailable, each at least backoff-base after the call before it; a rate-limited key waits its
   * Retry-After (or backoff-base) before its next call; a stream that failed after its first piece
   * is neither retried nor sent elsewhere; and once a call answered the message, no call follows.
   */
  static Row callsBeyondBounds(Evidence e) {
    Bounds b = e.bounds();
    List<Instant> stops = stops(e.history());
    Map<String, List<Call>> byMessage = new TreeMap<>();
    for (Call c : e.history().calls) {
      c.messageId().ifPresent(id -> byMessage.computeIfAbsent(id + "@" + generation(stops, c.at()), k -> new ArrayList<>()).add(c));
    }
    List<String> beyond = new ArrayList<>();
    for (Map.Entry<String, List<Call>> entry : byMessage.entrySet()) {
      String id = entry.getKey().substring(0, entry.getKey().indexOf('@'));
      List<Call> calls = entry.getValue().stream().sorted(Comparator.comparing(Call::at)).toList();
      violation(id, calls, b).ifPresent(beyond::add);
    }
    return new Row("calls beyond a bound", Integer.toString(beyond.size()), "0", beyond.isEmpty(), first(beyond));
  }

  private static Optional<String> violation(String id, List<Call> calls, Bounds b) {
    Map<String, Integer> perKey = new HashMap<>();
    Map<String, Call> lastOnKey = new HashMap<>();
    Map<String, Call> lastOnProvider = new HashMap<>();
    Map<String, Integer> unavailableRetries = new HashMap<>();
    Map<String, OutcomeKind> closedKeys = new HashMap<>();
    Call streamFailed = null;
    Call answered = null;
    for (Call c : calls) {
      String key = c.provider() + "#" + c.key();
      if (answered != null) {
        return Optional.of(id + ": called " + key + " after " + answered.provider() + "#" + answered.key() + " had answered it");
      }
      if (streamFailed != null) {
        return Optional.of(id + ": called " + key + " after a stream failed part way at " + streamFailed.provider());
      }
      if (closedKeys.containsKey(key)) {
        return Optional.of(id + ": called " + key + " again after it answered " + closedKeys.get(key).wire());
      }
      int n = perKey.merge(key, 1, Integer::sum);
      if (n > 1 + b.maxRetries()) {
        return Optional.of(id + ": " + n + " calls to " + key + " (at most " + (1 + b.maxRetries()) + ")");
      }
      Call before = lastOnProvider.get(c.provider());
      if (before != null && before.outcome() == OutcomeKind.UNAVAILABLE) {
        int retries = unavailableRetries.merge(c.provider(), 1, Integer::sum);
        if (retries > b.maxRetries()) {
          return Optional.of(id + ": " + retries + " retries of " + c.provider() + " after unavailable (at most " + b.maxRetries() + ")");
        }
        Duration gap = Duration.between(before.at(), c.at());
        if (gap.plus(TIMER_SLACK).compareTo(b.backoffBase()) < 0) {
          return Optional.of(id + ": " + c.provider() + " retried " + gap.toMillis() + " ms after unavailable (backoff "
              + b.backoffBase().toMillis() + " ms)");
        }
      }
      Call onKey = lastOnKey.get(key);
      if (onKey != null && onKey.outcome() == OutcomeKind.RATE_LIMITED) {
        Duration wait = onKey.fault() == Fault.RATE_LIMITED_RETRY_AFTER && b.respectRetryAfter()
            ? Duration.ofSeconds(1) : b.backoffBase();
        Duration gap = Duration.between(onKey.at(), c.at());
        if (gap.plus(TIMER_SLACK).compareTo(wait) < 0) {
          return Optional.of(id + ": " + key + " called " + gap.toMillis() + " ms after a 429 (wait " + wait.toMillis() + " ms)");
        }
      }
      if (Fault.ONE_CALL.contains(c.outcome())) {
        closedKeys.put(key, c.outcome());
      }
      if (c.streamed() && c.fault().step.stream().fault() != switchboard.providers.fake.FakeProviderServer.StreamFault.NONE) {
        streamFailed = c;
      }
      if (c.outcome() == OutcomeKind.OK) {
        answered = c;
      }
      lastOnKey.put(key, c);
      lastOnProvider.put(c.provider(), c);
    }
    return Optional.empty();
  }

  /**
   * A call that arrived while the gateway's own status said its provider (or key) was open: the last
   * status seen at least {@link #OPEN_GRACE} before the call, in the same process, showed it open
   * with an {@code open_until} still ahead, and no operator reset it in between.
   */
  static Row callsWhileOpen(ChaosHistory history) {
    List<Instant> stops = stops(history);
    List<StatusPoll> polls = history.polls.stream().sorted(Comparator.comparing(StatusPoll::answered)).toList();
    List<String> open = new ArrayList<>();
    for (Call c : history.calls.stream().sorted(Comparator.comparing(Call::at)).toList()) {
      StatusPoll before = latestBefore(polls, c.at().minus(OPEN_GRACE));
      if (before == null || generation(stops, before.asked()) != generation(stops, c.at())) {
        continue;
      }
      for (String target : List.of(c.provider(), c.provider() + "#" + c.key())) {
        BreakerView view = before.breakers().get(target);
        boolean untilAhead = view != null && view.until().map(u -> c.at().isBefore(u.minusMillis(50))).orElse(true);
        // a key's reset also ends its provider's all-keys-open state
        boolean reset = history.resets.stream()
            .anyMatch(r -> (r.target().equals(target) || r.target().startsWith(target + "#"))
                && !r.at().isBefore(before.asked()) && !r.at().isAfter(c.at()));
        if (view != null && view.open() && untilAhead && !reset) {
          open.add(c.messageId().orElse("?") + ": " + target + " called at " + c.at() + ", open since before "
              + before.answered() + view.until().map(u -> " until " + u).orElse(""));
          break;
        }
      }
    }
    return new Row("calls while a breaker was open", Integer.toString(open.size()), "0", open.isEmpty(), first(open));
  }

  private static StatusPoll latestBefore(List<StatusPoll> polls, Instant at) {
    int lo = 0;
    int hi = polls.size() - 1;
    StatusPoll found = null;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (!polls.get(mid).answered().isAfter(at)) {
        found = polls.get(mid);
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * For each provider with a daily cap: what it billed, and the calls it got after its bill reached
   * the cap (more than {@link #CAP_GRACE} after; what a SIGKILL may lose of the spend by design,
   * the last {@link #SPEND_WRITE_DELAY} before it, is allowed on top).
   */
  static List<Row> spend(Evidence e) {
    List<Row> rows = new ArrayList<>();
    if (e.bounds().caps().isEmpty()) {
      return List.of(Row.measured("spend against the caps", "no provider has a daily budget in the config"));
    }
    List<Instant> kills = e.history().kills();
    for (Map.Entry<String, Double> cap : new TreeMap<>(e.bounds().caps()).entrySet()) {
      String provider = cap.getKey();
      List<Call> calls = e.history().calls.stream().filter(c -> c.provider().equals(provider))
          .sorted(Comparator.comparing(Call::answeredAt)).toList();
      double lost = 0;
      for (Instant k : kills) {
        for (Call c : calls) {
          if (!c.answeredAt().isAfter(k) && c.answeredAt().isAfter(k.minus(SPEND_WRITE_DELAY))) {
            lost += c.billed();
          }
        }
      }
      double spent = 0;
      Instant reached = null;
      for (Call c : calls) {
        spent += c.billed();
        if (reached == null && spent - lost >= cap.getValue()) {
          reached = c.answeredAt();
        }
      }
      Instant after = reached == null ? null : reached.plus(CAP_GRACE);
      List<String> late = after == null ? List.of()
          : calls.stream().filter(c -> c.at().isAfter(after)).map(c -> c.messageId().orElse("?") + " at " + c.at()).toList();
      Instant start = e.history().process.stream().map(ProcessEvent::at).min(Comparator.naturalOrder()).orElse(Instant.EPOCH);
      String value = String.format(Locale.ROOT, "%s billed %.4f of a %.4f cap (%s); %d call(s) after it", provider, spent,
          cap.getValue(), reached == null ? "not reached" : "reached at +" + Duration.between(start, reached).toSeconds() + " s",
          late.size());
      rows.add(new Row("spend against the caps", value, "0 calls after", late.isEmpty(), first(late)));
    }
    return rows;
  }

  // ---- secrets, memory, process -----------------------------------------------------------------

  static Row secrets(Evidence e) {
    List<String> found = new ArrayList<>();
    for (Map.Entry<String, String> place : new TreeMap<>(e.texts()).entrySet()) {
      for (int i = 0; i < e.secrets().size(); i++) {
        if (place.getValue().contains(e.secrets().get(i))) {
          found.add("secret " + (i + 1) + " of " + e.secrets().size() + " in " + place.getKey());
        }
      }
    }
    return new Row("secrets in logs, metrics and status", Integer.toString(found.size()), "0", found.isEmpty(),
        found.isEmpty() ? "looked in " + e.texts().size() + " places for " + e.secrets().size() + " secrets" : first(found));
  }

  static Row heapAndThreads(ChaosHistory history) {
    Map<Integer, List<ChaosHistory.Sample>> byGeneration = new TreeMap<>();
    history.samples.forEach(s -> byGeneration.computeIfAbsent(s.generation(), g -> new ArrayList<>()).add(s));
    List<String> parts = new ArrayList<>();
    List<String> over = new ArrayList<>();
    for (Map.Entry<Integer, List<ChaosHistory.Sample>> g : byGeneration.entrySet()) {
      List<ChaosHistory.Sample> s = g.getValue().stream().sorted(Comparator.comparing(ChaosHistory.Sample::at)).toList();
      if (s.size() < 2) {
        continue;
      }
      ChaosHistory.Sample start = s.get(0);
      ChaosHistory.Sample end = s.get(s.size() - 1);
      long heap = end.heapBytes() - start.heapBytes();
      int threads = end.threads() - start.threads();
      parts.add(String.format(Locale.ROOT, "process %d: heap %.0f -> %.0f MiB, threads %d -> %d", g.getKey(),
          start.heapBytes() / 1048576.0, end.heapBytes() / 1048576.0, start.threads(), end.threads()));
      if (heap > HEAP_GROWTH_BOUND || threads > THREAD_GROWTH_BOUND) {
        over.add("process " + g.getKey() + " grew " + heap / 1048576 + " MiB and " + threads + " threads");
      }
    }
    String bound = "growth <= " + (HEAP_GROWTH_BOUND >> 20) + " MiB, " + THREAD_GROWTH_BOUND + " threads";
    return new Row("heap and threads", parts.isEmpty() ? "not measured (no jcmd or /proc)" : String.join("; ", parts),
        bound, over.isEmpty(), first(over));
  }

  static Row processExits(ChaosHistory history) {
    List<String> bad = new ArrayList<>();
    int kills = 0;
    int terms = 0;
    for (ProcessEvent p : history.process) {
      switch (p.change()) {
        case DIED -> bad.add("process " + p.generation() + " died on its own (exit " + p.exitCode() + ")");
        case TERMINATED, EXITED -> {
          terms++;
          if (p.exitCode() != 0) {
            bad.add("process " + p.generation() + " exited " + p.exitCode() + " after SIGTERM");
          }
        }
        case KILLED -> kills++;
        default -> { }
      }
    }
    return new Row("gateway exits", kills + " SIGKILL, " + terms + " SIGTERM, " + bad.size() + " unexpected",
        "0 unexpected", bad.isEmpty(), first(bad));
  }

  static List<Row> latency(List<Message> messages, Map<String, List<Answer>> answers) {
    Map<String, List<Long>> byGroup = new LinkedHashMap<>();
    for (Message m : messages) {
      List<Answer> a = answers.get(m.id());
      if (a == null) {
        continue;
      }
      Instant first = a.stream().map(Answer::at).min(Comparator.naturalOrder()).orElseThrow();
      String group = m.channel() == Channel.TELEGRAM ? "Telegram" : m.channel() == Channel.DISCORD ? "Discord" : "HTTP";
      byGroup.computeIfAbsent(group, g -> new ArrayList<>()).add(Duration.between(m.sentAt(), first).toMillis());
    }
    List<Row> rows = new ArrayList<>();
    byGroup.forEach((group, ms) -> {
      List<Long> sorted = ms.stream().sorted().toList();
      rows.add(Row.measured("latency, " + group, String.format(Locale.ROOT, "p50 %d ms, p90 %d ms, p99 %d ms, max %d ms (%d answers)",
          pct(sorted, 0.50), pct(sorted, 0.90), pct(sorted, 0.99), sorted.get(sorted.size() - 1), sorted.size())));
    });
    return rows;
  }

  private static long pct(List<Long> sorted, double p) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(p * sorted.size())));
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /**
   * When each gateway process ended, as far as its calls go: {@link #STOP_SLACK} after the kill or exit
   * was recorded. A fake records a call when it answers it, so a call the killed process had sent can
   * be recorded a moment after the kill (seen: 0.7 ms, under CPU load); the next process takes seconds
   * to start, so nothing it sends can fall in that second.
   */
  private static List<Instant> stops(ChaosHistory history) {
    return history.process.stream().filter(p -> p.change().ended()).map(p -> p.at().plus(STOP_SLACK)).sorted().toList();
  }

  /** Which gateway process was running at {@code at}: 1 + the stops before it. */
  private static int generation(List<Instant> stops, Instant at) {
    int g = 1;
    for (Instant s : stops) {
      if (s.isBefore(at)) {
        g++;
      }
    }
    return g;
  }

  private static String byChannel(List<Message> messages) {
    Map<Channel, Long> counts = new EnumMap<>(Channel.class);
    messages.forEach(m -> counts.merge(m.channel(), 1L, Long::sum));
    return counts.entrySet().stream().map(e -> e.getKey().label + " " + e.getValue()).collect(Collectors.joining(", "));
  }

  private static String first(List<String> items) {
    return items.isEmpty() ? "" : "first: " + items.get(0) + (items.size() > 1 ? " (and " + (items.size() - 1) + " more)" : "");
  }
}
