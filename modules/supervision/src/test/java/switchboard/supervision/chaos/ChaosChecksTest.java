package switchboard.supervision.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.supervision.chaos.ChaosChecks.Bounds;
import switchboard.supervision.chaos.ChaosChecks.Evidence;
import switchboard.supervision.chaos.ChaosChecks.Row;
import switchboard.supervision.chaos.ChaosHistory.Answer;
import switchboard.supervision.chaos.ChaosHistory.AnswerKind;
import switchboard.supervision.chaos.ChaosHistory.BreakerView;
import switchboard.supervision.chaos.ChaosHistory.Call;
import switchboard.supervision.chaos.ChaosHistory.Channel;
import switchboard.supervision.chaos.ChaosHistory.Message;
import switchboard.supervision.chaos.ChaosHistory.ProcessChange;
import switchboard.supervision.chaos.ChaosHistory.ProcessEvent;

/**
 * Each check of {@code switchboard chaos} on a history that keeps its promise (it holds) and on one
 * that breaks it (it fails, naming the message): the checks cannot pass by construction.
 */
class ChaosChecksTest {

  private static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");
  private static final Bounds BOUNDS = new Bounds(2, Duration.ofMillis(200), true, Duration.ofSeconds(2), Map.of("metered", 1.0));

  private final ChaosHistory history = new ChaosHistory();

  private static Instant at(long millis) {
    return T0.plusMillis(millis);
  }

  private void started(long millis, int generation) {
    history.process(new ProcessEvent(at(millis), generation, ProcessChange.STARTED, 0));
  }

  private void call(String provider, int key, String message, long millis, Fault fault) {
    call(provider, key, message, millis, fault, false, 0);
  }

  private void call(String provider, int key, String message, long millis, Fault fault, boolean streamed, double billed) {
    history.call(new Call(provider, key, Optional.of(message), at(millis), at(millis + 5), fault, streamed, billed));
  }

  private Evidence evidence() {
    return evidence(List.of(), Map.of(), Map.of());
  }

  private Evidence evidence(List<ChaosLoad.Drop> drops, Map<String, String> texts, Map<String, List<String>> turns) {
    return new Evidence(history, drops, BOUNDS, List.of("sk-chaos-secret-one", "123:AAbottoken"), texts, turns);
  }

  private Row row(String check, Evidence e) {
    return ChaosChecks.all(e).stream().filter(r -> r.check().equals(check)).findFirst().orElseThrow();
  }

  @Test
  void aCleanHistoryHoldsEveryCheck() {
    started(0, 1);
    history.message(new Message("m1", Channel.TELEGRAM, "telegram:1", at(10), 5));
    history.message(new Message("m2", Channel.CONVERSATION, "c1", at(20), 0));
    call("flaky", 1, "m1", 30, Fault.SERVER_ERROR);
    call("flaky", 2, "m1", 300, Fault.OK);
    call("flaky", 1, "m2", 40, Fault.OK);
    history.answer(new Answer("m1", at(320), AnswerKind.REPLY, ""));
    history.answer(new Answer("m2", at(60), AnswerKind.ERROR, "unavailable"));
    history.process(new ProcessEvent(at(1000), 1, ProcessChange.STOPPING, 0));
    history.process(new ProcessEvent(at(1500), 1, ProcessChange.EXITED, 0));
    List<Row> rows = ChaosChecks.all(evidence(List.of(), Map.of("gateway-1.err", "all fine"), Map.of("c1", List.of("m2"))));
    assertTrue(rows.stream().allMatch(Row::ok), () -> rows.toString());
    assertTrue(rows.stream().filter(Row::isCheck).count() >= 11, () -> rows.toString());
  }

  @Test
  void aSecondAnswerOrASecondStoredTurnIsAnsweredTwice() {
    history.message(new Message("m1", Channel.TELEGRAM, "telegram:1", at(0), 5));
    history.answer(new Answer("m1", at(10), AnswerKind.REPLY, ""));
    history.answer(new Answer("m1", at(20), AnswerKind.REPLY, ""));
    Row twice = row("answered twice", evidence());
    assertFalse(twice.ok());
    assertTrue(twice.detail().contains("m1"), twice.detail());

    ChaosHistory other = new ChaosHistory();
    other.message(new Message("m2", Channel.CONVERSATION, "c1", at(0), 0));
    other.answer(new Answer("m2", at(10), AnswerKind.REPLY, ""));
    Row stored = ChaosChecks.answeredTwice(List.copyOf(other.messages), Map.of("m2", List.copyOf(other.answers)),
        Map.of("c1", List.of("m2", "m2")), List.of());
    assertFalse(stored.ok());
    assertTrue(stored.detail().contains("stored 2 times in c1"), stored.detail());
  }

  @Test
  void aTelegramReplySentAgainBecauseASigkillCameRightAfterTheSendIsCountedNotFailed() {
    started(0, 1);
    history.message(new Message("m1", Channel.TELEGRAM, "telegram:1", at(0), 5));
    history.answer(new Answer("m1", at(100), AnswerKind.REPLY, ""));
    history.process(new ProcessEvent(at(105), 1, ProcessChange.KILLED, 0));
    started(4000, 2);
    history.answer(new Answer("m1", at(4500), AnswerKind.REPLY, ""));
    assertTrue(row("answered twice", evidence()).ok());
    assertEquals("1: m1 (SIGKILL 5 ms after Telegram took the reply)",
        row("Telegram replies re-sent after a SIGKILL at the send", evidence()).value());

    history.message(new Message("m2", Channel.TELEGRAM, "telegram:1", at(4800), 6));
    history.answer(new Answer("m2", at(5000), AnswerKind.REPLY, ""));
    history.answer(new Answer("m2", at(5100), AnswerKind.REPLY, ""));
    Row twice = row("answered twice", evidence());
    assertFalse(twice.ok(), "no kill between m2's two answers");
    assertTrue(twice.detail().contains("m2"), twice.detail());
  }

  @Test
  void aMessageWithoutAnAnswerIsLostAndAnAnswerThatNamesNothingIsCaught() {
    history.message(new Message("m1", Channel.COMPLETION, "", at(0), 0));
    history.message(new Message("m2", Channel.COMPLETION_STREAM, "", at(0), 0));
    history.answer(new Answer("m2", at(10), AnswerKind.UNCLEAR, "a stream that ended with neither its end marker nor an error"));
    Row lost = row("lost", evidence());
    assertFalse(lost.ok());
    assertTrue(lost.detail().contains("m1"), lost.detail());
    assertFalse(row("answers that name nothing", evidence()).ok());
  }

  @Test
  void anUnansweredDiscordMessageIsLostUnlessTheGatewayWentDownBeforeItCouldAnswer() {
    started(0, 1);
    history.message(new Message("m1", Channel.DISCORD, "discord:1", at(1000), 0));
    history.process(new ProcessEvent(at(1200), 1, ProcessChange.KILLED, 0));
    started(5000, 2);
    assertTrue(row("lost", evidence()).ok());
    assertEquals("1", row("Discord messages lost to a restart (not redelivered to a new session)", evidence()).value());
    history.message(new Message("m2", Channel.DISCORD, "discord:1", at(70_000), 0));
    Row lost = row("lost", evidence());
    assertFalse(lost.ok());
    assertTrue(lost.detail().contains("m2 (Discord)"), lost.detail());
  }

  @Test
  void aDroppedConnectionIsExplainedOnlyByAKillAroundIt() {
    started(0, 1);
    history.process(new ProcessEvent(at(5000), 1, ProcessChange.KILLED, 0));
    started(9000, 2);
    ChaosLoad.Drop duringKill = new ChaosLoad.Drop("m1", at(4000), at(5001), "IOException: reset");
    ChaosLoad.Drop whileRestarting = new ChaosLoad.Drop("m2", at(7000), at(7001), "ConnectException");
    ChaosLoad.Drop whileUp = new ChaosLoad.Drop("m3", at(20000), at(20500), "IOException: closed");
    assertTrue(row("connections dropped with no kill", evidence(List.of(duringKill, whileRestarting), Map.of(), Map.of())).ok());
    Row up = row("connections dropped with no kill", evidence(List.of(duringKill, whileUp), Map.of(), Map.of()));
    assertFalse(up.ok());
    assertTrue(up.detail().contains("m3"), up.detail());
  }

  @Test
  void aRequestInFlightBeforeASigtermMustNotBeCut() {
    started(0, 1);
    history.process(new ProcessEvent(at(10_000), 1, ProcessChange.STOPPING, 0));
    history.process(new ProcessEvent(at(12_000), 1, ProcessChange.TERMINATED, 0));
    started(15_000, 2);
    ChaosLoad.Drop refusedAfterUnbind = new ChaosLoad.Drop("m1", at(10_500), at(10_501), "ConnectException");
    assertTrue(row("answers cut short by SIGTERM", evidence(List.of(refusedAfterUnbind), Map.of(), Map.of())).ok());
    ChaosLoad.Drop cut = new ChaosLoad.Drop("m2", at(8_000), at(11_000), "IOException: closed");
    Row row = row("answers cut short by SIGTERM", evidence(List.of(cut), Map.of(), Map.of()));
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m2"), row.detail());
  }

  @Test
  void aKeyThatAnsweredOutOfCreditsIsNotCalledAgainForTheMessage() {
    call("flaky", 1, "m1", 0, Fault.OUT_OF_CREDITS);
    call("flaky", 2, "m1", 10, Fault.OK);
    assertTrue(row("calls beyond a bound", evidence()).ok());
    call("flaky", 1, "m2", 0, Fault.OUT_OF_CREDITS);
    call("flaky", 1, "m2", 10, Fault.OK);
    Row row = row("calls beyond a bound", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m2: called flaky#1 again after it answered out_of_credits"), row.detail());
  }

  @Test
  void retriesBeyondMaxRetriesOrSoonerThanTheBackoffAreCaught() {
    call("flaky", 1, "m1", 0, Fault.SERVER_ERROR);
    call("flaky", 1, "m1", 250, Fault.SERVER_ERROR);
    call("flaky", 1, "m1", 500, Fault.SERVER_ERROR);
    assertTrue(row("calls beyond a bound", evidence()).ok());
    call("flaky", 1, "m1", 750, Fault.OK);
    Row tooMany = row("calls beyond a bound", evidence());
    assertFalse(tooMany.ok());
    assertTrue(tooMany.detail().contains("4 calls to flaky#1 (at most 3)"), tooMany.detail());

    ChaosHistory soon = new ChaosHistory();
    soon.call(new Call("flaky", 1, Optional.of("m2"), at(0), at(5), Fault.SERVER_ERROR, false, 0));
    soon.call(new Call("flaky", 2, Optional.of("m2"), at(50), at(55), Fault.OK, false, 0));
    Row early = ChaosChecks.callsBeyondBounds(new Evidence(soon, List.of(), BOUNDS, List.of(), Map.of(), Map.of()));
    assertFalse(early.ok());
    assertTrue(early.detail().contains("retried 50 ms after unavailable"), early.detail());
  }

  @Test
  void aRateLimitedKeyWaitsItsRetryAfterButAnotherKeyMayGoAtOnce() {
    call("flaky", 1, "m1", 0, Fault.RATE_LIMITED_RETRY_AFTER);
    call("flaky", 2, "m1", 5, Fault.RATE_LIMITED_RETRY_AFTER);
    call("flaky", 1, "m1", 1000, Fault.OK);
    assertTrue(row("calls beyond a bound", evidence()).ok());
    call("flaky", 1, "m3", 0, Fault.RATE_LIMITED_RETRY_AFTER);
    call("flaky", 1, "m3", 400, Fault.OK);
    Row row = row("calls beyond a bound", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m3: flaky#1 called 400 ms after a 429 (wait 1000 ms)"), row.detail());
  }

  @Test
  void aStreamThatFailedPartWayIsNeitherRetriedNorSentElsewhere() {
    call("flaky", 1, "m1", 0, Fault.STREAM_ERROR, false, 0);
    assertTrue(row("calls beyond a bound", evidence()).ok(), "a stream fault on a whole answer is just an answer");
    call("flaky", 1, "m2", 0, Fault.STREAM_ERROR, true, 0);
    call("metered", 1, "m2", 300, Fault.OK, true, 0);
    Row row = row("calls beyond a bound", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m2: called metered#1 after a stream failed part way"), row.detail());
  }

  @Test
  void aMessageThatGotItsAnswerCostsNoFurtherCall() {
    call("flaky", 1, "m1", 0, Fault.OK);
    call("steady", 1, "m1", 300, Fault.OK);
    Row row = row("calls beyond a bound", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m1: called steady#1 after flaky#1 had answered it"), row.detail());
  }

  @Test
  void aRestartedGatewayStartsAMessageAfresh() {
    started(0, 1);
    call("flaky", 1, "m1", 100, Fault.SERVER_ERROR);
    call("flaky", 1, "m1", 400, Fault.SERVER_ERROR);
    call("flaky", 1, "m1", 700, Fault.SERVER_ERROR);
    history.process(new ProcessEvent(at(800), 1, ProcessChange.KILLED, 0));
    started(5000, 2);
    call("flaky", 1, "m1", 5100, Fault.SERVER_ERROR);
    call("flaky", 1, "m1", 5400, Fault.OK);
    assertTrue(row("calls beyond a bound", evidence()).ok());
  }

  @Test
  void aCallTheFakeRecordedJustAfterASigkillIsTheKilledGatewaysCall() {
    started(0, 1);
    call("flaky", 1, "m1", 100, Fault.OVERLOADED);
    history.process(new ProcessEvent(at(800), 1, ProcessChange.KILLED, 0));
    call("metered", 1, "m1", 801, Fault.OK, true, 0.01);
    started(5000, 2);
    call("flaky", 2, "m1", 5500, Fault.OK);
    assertTrue(row("calls beyond a bound", evidence()).ok());

    call("steady", 1, "m1", 5600, Fault.OK);
    Row row = row("calls beyond a bound", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("m1: called steady#1 after flaky#2 had answered it"), row.detail());
  }

  @Test
  void aCallWhileTheGatewaySaidTheKeyWasOpenIsCaughtUnlessResetOrTooSoon() {
    started(0, 1);
    Map<String, BreakerView> open = Map.of("flaky", new BreakerView("closed", Optional.empty()),
        "flaky#1", new BreakerView("open", Optional.of(at(10_000))));
    history.poll(new ChaosHistory.StatusPoll(at(1000), at(1010), open));
    call("flaky", 1, "m1", 1100, Fault.OK);
    call("flaky", 2, "m2", 2000, Fault.OK);
    call("flaky", 1, "m3", 11_000, Fault.OK);
    assertTrue(row("calls while a breaker was open", evidence()).ok(), "within the grace, another key, after open_until");
    call("flaky", 1, "m4", 2000, Fault.OK);
    Row row = row("calls while a breaker was open", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().startsWith("first: m4: flaky#1 called at"), row.detail());
    history.reset(new ChaosHistory.Reset(at(1500), "flaky#1"));
    assertTrue(row("calls while a breaker was open", evidence()).ok(), "the operator reset it");
  }

  @Test
  void aProviderWhoseKeysAreAllOpenIsOpenAndAKeyResetEndsThat() {
    started(0, 1);
    history.poll(new ChaosHistory.StatusPoll(at(1000), at(1010), Map.of("flaky", new BreakerView("open", Optional.empty()))));
    call("flaky", 2, "m1", 2000, Fault.OK);
    assertFalse(row("calls while a breaker was open", evidence()).ok());
    history.reset(new ChaosHistory.Reset(at(1500), "flaky#1"));
    assertTrue(row("calls while a breaker was open", evidence()).ok());
  }

  @Test
  void callsAfterTheBillReachedTheCapAreCaught() {
    started(0, 1);
    call("metered", 1, "m1", 0, Fault.OK, false, 0.6);
    call("metered", 1, "m2", 100, Fault.OK, false, 0.6);
    call("metered", 1, "m3", 500, Fault.OK, false, 0.6);
    assertTrue(row("spend against the caps", evidence()).ok(), "in flight when the cap was reached");
    call("metered", 1, "m4", 3000, Fault.OK, false, 0.6);
    Row row = row("spend against the caps", evidence());
    assertFalse(row.ok());
    assertTrue(row.value().contains("metered billed 2.4000 of a 1.0000 cap (reached at +0 s); 1 call(s) after it"), row.value());
    assertTrue(row.detail().contains("m4"), row.detail());
  }

  @Test
  void aSigkillMayLoseTheLastMomentsOfSpendByDesign() {
    started(0, 1);
    call("metered", 1, "m1", 0, Fault.OK, false, 0.6);
    history.process(new ProcessEvent(at(100), 1, ProcessChange.KILLED, 0));
    started(4000, 2);
    call("metered", 1, "m2", 5000, Fault.OK, false, 0.6);
    assertTrue(row("spend against the caps", evidence()).ok(), "the killed gateway had not written m1's spend");
    call("metered", 1, "m3", 7000, Fault.OK, false, 0.6);
    assertTrue(row("spend against the caps", evidence()).ok(), "m3 reached the cap as the gateway counts it");
    call("metered", 1, "m4", 9000, Fault.OK, false, 0.6);
    assertFalse(row("spend against the caps", evidence()).ok());
  }

  @Test
  void aSecretInAnyLogMetricsOrStatusIsCaughtWithoutPrintingIt() {
    assertTrue(row("secrets in logs, metrics and status", evidence(List.of(), Map.of("GET /metrics", "x 1"), Map.of())).ok());
    Row row = row("secrets in logs, metrics and status",
        evidence(List.of(), Map.of("gateway-2.err", "calling with key sk-chaos-secret-one"), Map.of()));
    assertFalse(row.ok());
    assertTrue(row.detail().contains("secret 1 of 2 in gateway-2.err"), row.detail());
    assertFalse(row.detail().contains("sk-chaos-secret-one"), row.detail());
  }

  @Test
  void heapOrThreadsGrowingBeyondTheBoundFail() {
    history.sample(new ChaosHistory.Sample(at(0), 1, "start", 40L << 20, 60));
    history.sample(new ChaosHistory.Sample(at(60_000), 1, "end", 70L << 20, 70));
    assertTrue(row("heap and threads", evidence()).ok());
    history.sample(new ChaosHistory.Sample(at(0), 2, "start", 40L << 20, 60));
    history.sample(new ChaosHistory.Sample(at(60_000), 2, "end", 41L << 20, 120));
    Row row = row("heap and threads", evidence());
    assertFalse(row.ok());
    assertTrue(row.detail().contains("process 2 grew 1 MiB and 60 threads"), row.detail());
  }

  @Test
  void aGatewayThatDiesOnItsOwnOrExitsBadlyAfterSigtermFails() {
    started(0, 1);
    history.process(new ProcessEvent(at(10), 1, ProcessChange.DIED, 137));
    Row died = row("gateway exits", evidence());
    assertFalse(died.ok());
    assertTrue(died.detail().contains("process 1 died on its own (exit 137)"), died.detail());

    ChaosHistory other = new ChaosHistory();
    other.process(new ProcessEvent(at(10), 1, ProcessChange.TERMINATED, 1));
    assertFalse(ChaosChecks.processExits(other).ok());
  }

  @Test
  void theCheckNamesMatchWhatEachSabotageBreaks() {
    started(0, 1);
    List<String> checks = ChaosChecks.all(evidence()).stream().filter(Row::isCheck).map(Row::check).toList();
    for (Sabotage s : Sabotage.values()) {
      if (s != Sabotage.SPEND) {
        assertTrue(checks.contains(s.check), s + " breaks \"" + s.check + "\", which is not among " + checks);
      }
    }
    assertEquals(Sabotage.SPEND.check, row("spend against the caps", evidence()).check());
  }
}
