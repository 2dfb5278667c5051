package switchboard.supervision.chaos;

import java.time.Duration;
import java.util.Set;
import switchboard.providers.OutcomeKind;
import switchboard.providers.fake.FakeProviderServer.Step;
import switchboard.providers.fake.FakeProviderServer.StreamFault;

/**
 * One way a fake provider answers a call in a soak, with the outcome the gateway must classify it
 * as (CONTRACT.md section 3). The checks use that outcome to hold each message's calls to the
 * contract's bounds.
 */
enum Fault {
  OK("ok", OutcomeKind.OK, Step.ok()),
  SLOW_OK("ok after 400 ms", OutcomeKind.OK, Step.ok().withDelay(Duration.ofMillis(400))),
  SLOW_STREAM("ok, streamed in 6 pieces 120 ms apart", OutcomeKind.OK, Step.ok().withChunks(6, Duration.ofMillis(120))),
  RATE_LIMITED_RETRY_AFTER("429 with Retry-After: 1", OutcomeKind.RATE_LIMITED, Step.rateLimited(1)),
  RATE_LIMITED("429 without Retry-After", OutcomeKind.RATE_LIMITED, Step.status(429)),
  BUDGET_EXCEEDED("429 budget_exceeded", OutcomeKind.BUDGET_EXCEEDED, Step.status(429).withErrorType("budget_exceeded")),
  INSUFFICIENT_QUOTA("429 insufficient_quota", OutcomeKind.OUT_OF_CREDITS, Step.status(429).withErrorType("insufficient_quota")),
  OUT_OF_CREDITS("402", OutcomeKind.OUT_OF_CREDITS, Step.status(402)),
  AUTH_FAILED("401", OutcomeKind.AUTH_FAILED, Step.status(401)),
  SERVER_ERROR("500", OutcomeKind.UNAVAILABLE, Step.status(500)),
  OVERLOADED("529", OutcomeKind.UNAVAILABLE, Step.status(529)),
  HTML("502 with an HTML page", OutcomeKind.UNAVAILABLE, Step.status(502)),
  HANG("no answer (hang)", OutcomeKind.UNAVAILABLE, Step.hang()),
  CLOSE("connection closed", OutcomeKind.UNAVAILABLE, Step.close()),
  GARBAGE("200 with a non-JSON body", OutcomeKind.UNAVAILABLE, Step.garbage()),
  TRUNCATED("200 with truncated JSON", OutcomeKind.UNAVAILABLE,
      Step.status(200, "{\"id\":\"chatcmpl-cut\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"mess")),
  STREAM_ERROR("stream: error event after 1 piece", OutcomeKind.UNAVAILABLE, Step.ok().withStreamFault(StreamFault.ERROR, 1)),
  STREAM_DROP("stream: dropped after 1 piece", OutcomeKind.UNAVAILABLE, Step.ok().withStreamFault(StreamFault.DROP, 1)),
  STREAM_STALL("stream: stalls after 1 piece", OutcomeKind.UNAVAILABLE, Step.ok().withStreamFault(StreamFault.STALL, 1)),
  STREAM_CUT("stream: ends without its end marker", OutcomeKind.UNAVAILABLE, Step.ok().withStreamFault(StreamFault.CUT, 1));

  /** Outcomes that must cost exactly one call to a key per message. */
  static final Set<OutcomeKind> ONE_CALL =
      Set.of(OutcomeKind.OUT_OF_CREDITS, OutcomeKind.BUDGET_EXCEEDED, OutcomeKind.AUTH_FAILED, OutcomeKind.BAD_REQUEST);

  final String label;
  final OutcomeKind kind;
  final Step step;

  Fault(String label, OutcomeKind kind, Step step) {
    this.label = label;
    this.kind = kind;
    this.step = step;
  }

  /** The outcome of this answer to a call that asked for a stream ({@code streamed}) or not. */
  OutcomeKind outcome(boolean streamed) {
    boolean streamFault = step.stream().fault() != StreamFault.NONE;
    return streamFault && !streamed ? OutcomeKind.OK : kind;
  }

  /** Whether the provider bills this answer: a whole, well-formed completion. */
  boolean billed(boolean streamed) {
    return outcome(streamed) == OutcomeKind.OK;
  }

  /** Only OpenAI's wire format has these error codes. */
  boolean openAiOnly() {
    return this == BUDGET_EXCEEDED || this == INSUFFICIENT_QUOTA;
  }
}
