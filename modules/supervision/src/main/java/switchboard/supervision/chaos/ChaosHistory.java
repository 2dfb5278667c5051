package switchboard.supervision.chaos;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import switchboard.providers.OutcomeKind;

/**
 * Everything a soak saw, as it happened: the messages sent, every answer that came back, every call
 * a fake provider received (with the fault it answered with), the gateway process's starts and
 * deaths, the breaker states it reported, operator resets, and heap and thread samples. The checks
 * read it at the end. Safe to add to from any thread.
 */
final class ChaosHistory {

  /** Where a message was sent. */
  enum Channel {
    CONVERSATION("HTTP /api/conversations"),
    COMPLETION("HTTP /v1/chat/completions"),
    COMPLETION_STREAM("HTTP /v1/chat/completions, streamed"),
    MESSAGES("HTTP /v1/messages (Anthropic)"),
    TELEGRAM("Telegram"),
    DISCORD("Discord");

    final String label;

    Channel(String label) {
      this.label = label;
    }
  }

  /**
   * One user message.
   *
   * @param id its id, carried in its text ({@code chaos-m42}) so the fakes can tell whose a call is
   * @param telegramMessageId the Telegram message id, 0 for HTTP
   */
  record Message(String id, Channel channel, String conversation, Instant sentAt, long telegramMessageId) {}

  /** What an answer was. */
  enum AnswerKind {
    /** A reply. */
    REPLY,
    /** A clear error: a JSON error (or error event) naming its type. */
    ERROR,
    /** Anything else: a body that names nothing, an HTML page, a stream that just stopped. */
    UNCLEAR
  }

  /** An answer that reached the user; {@code detail} is the error type or what was unclear. */
  record Answer(String messageId, Instant at, AnswerKind kind, String detail) {}

  /**
   * A call a fake provider received.
   *
   * @param key the key's position in the provider's pool (1 = first), 0 for a key it does not know
   * @param messageId the message it was made for, empty when no id was found in it
   * @param answeredAt when its answer was (or would have been) complete
   * @param billed what the provider bills for it, in the price's currency
   */
  record Call(
      String provider, int key, Optional<String> messageId, Instant at, Instant answeredAt,
      Fault fault, boolean streamed, double billed) {
    OutcomeKind outcome() {
      return fault.outcome(streamed);
    }
  }

  /** What happened to the gateway process. */
  enum ProcessChange {
    STARTED, KILLED, STOPPING, TERMINATED, EXITED, DIED;

    /** Whether the process is gone after this (a SIGTERM's {@code STOPPING} is not yet). */
    boolean ended() {
      return this != STARTED && this != STOPPING;
    }
  }

  /**
   * A change of the gateway process: started, killed with SIGKILL, sent SIGTERM ({@code STOPPING}),
   * exited after a SIGTERM during the run ({@code TERMINATED}) or at its end ({@code EXITED}) with its
   * exit code, or died without being told to ({@code DIED}).
   */
  record ProcessEvent(Instant at, int generation, ProcessChange change, int exitCode) {}

  /** A breaker's state as {@code /api/status} showed it: {@code until} is its {@code open_until}. */
  record BreakerView(String state, Optional<Instant> until) {
    boolean open() {
      return state.equals("open");
    }
  }

  /**
   * One look at {@code /api/status}: asked at {@code asked}, answered at {@code answered}; breakers by
   * provider name (the provider's own) and by key alias ({@code name#1}).
   */
  record StatusPoll(Instant asked, Instant answered, Map<String, BreakerView> breakers) {}

  /** An operator's reset of a key's (or provider's) breakers, as the soak does after an auth failure. */
  record Reset(Instant at, String target) {}

  /** Heap after a full GC and live threads of the gateway process, {@code label} saying when. */
  record Sample(Instant at, int generation, String label, long heapBytes, int threads) {}

  final ConcurrentLinkedQueue<Message> messages = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<ProcessEvent> process = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<StatusPoll> polls = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Reset> resets = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
  /** HTTP requests sent again (same Idempotency-Key) because the gateway was gone. */
  final Map<String, Integer> resent = new ConcurrentHashMap<>();

  void message(Message m) {
    messages.add(m);
  }

  void answer(Answer a) {
    answers.add(a);
  }

  void call(Call c) {
    calls.add(c);
  }

  void process(ProcessEvent e) {
    process.add(e);
  }

  void poll(StatusPoll p) {
    polls.add(p);
  }

  void reset(Reset r) {
    resets.add(r);
  }

  void sample(Sample s) {
    samples.add(s);
  }

  void resent(String messageId) {
    resent.merge(messageId, 1, Integer::sum);
  }

  /**
   * Writes what was seen as tab-separated files into {@code dir} (messages, answers, calls, process,
   * samples, resets), for a look after a failed check.
   */
  void write(java.nio.file.Path dir) throws java.io.IOException {
    table(dir.resolve("messages.tsv"), "id\tchannel\tconversation\tsent\ttelegram_message_id",
        messages, m -> m.id() + "\t" + m.channel() + "\t" + m.conversation() + "\t" + m.sentAt() + "\t" + m.telegramMessageId());
    table(dir.resolve("answers.tsv"), "message\tat\tkind\tdetail",
        answers, a -> a.messageId() + "\t" + a.at() + "\t" + a.kind() + "\t" + a.detail());
    table(dir.resolve("calls.tsv"), "provider\tkey\tmessage\tat\tanswered\tfault\tstreamed\toutcome\tbilled",
        calls, c -> c.provider() + "\t" + c.key() + "\t" + c.messageId().orElse("") + "\t" + c.at() + "\t" + c.answeredAt()
            + "\t" + c.fault() + "\t" + c.streamed() + "\t" + c.outcome().wire() + "\t" + c.billed());
    table(dir.resolve("process.tsv"), "at\tprocess\tchange\texit_code",
        process, p -> p.at() + "\t" + p.generation() + "\t" + p.change() + "\t" + p.exitCode());
    table(dir.resolve("samples.tsv"), "at\tprocess\tlabel\theap_bytes\tthreads",
        samples, s -> s.at() + "\t" + s.generation() + "\t" + s.label() + "\t" + s.heapBytes() + "\t" + s.threads());
    table(dir.resolve("resets.tsv"), "at\ttarget", resets, r -> r.at() + "\t" + r.target());
  }

  private static <T> void table(java.nio.file.Path file, String header, java.util.Collection<T> rows,
      java.util.function.Function<T, String> line) throws java.io.IOException {
    List<String> lines = new ArrayList<>();
    lines.add(header);
    rows.forEach(r -> lines.add(line.apply(r)));
    java.nio.file.Files.write(file, lines, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The times of the SIGKILLs. */
  List<Instant> kills() {
    List<Instant> out = new ArrayList<>();
    for (ProcessEvent e : process) {
      if (e.change() == ProcessChange.KILLED) {
        out.add(e.at());
      }
    }
    return out;
  }
}
