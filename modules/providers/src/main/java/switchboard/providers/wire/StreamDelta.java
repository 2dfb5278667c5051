package switchboard.providers.wire;

import switchboard.providers.OutcomeKind;
import switchboard.providers.Usage;

/**
 * One piece of a streamed answer, parsed from either provider stream format and written out in
 * either client format: the one internal stream vocabulary of the gateway. A stream ends with
 * exactly one {@link End} (normal end) or {@link Failed} (everything after it is dropped).
 */
public sealed interface StreamDelta {

  /** Whether this piece is part of the answer the caller sees (the first one commits the stream). */
  default boolean content() {
    return true;
  }

  /** Whether nothing comes after this piece. */
  default boolean terminal() {
    return false;
  }

  /** Answer text, appended to what came before. */
  record Text(String text) implements StreamDelta {}

  /**
   * A piece of tool call {@code index} (0-based, in the order the calls began): its first piece has
   * {@code id} and {@code name}, later ones only a fragment of the JSON {@code arguments}.
   */
  record ToolCallPart(int index, String id, String name, String arguments) implements StreamDelta {}

  /** The answer is complete; {@code reason} in OpenAI's terms ({@code stop}, {@code length}, {@code tool_calls}). */
  record Finish(String reason) implements StreamDelta {}

  /** What the provider reported so far about tokens (a field that is 0 is not known yet). */
  record UsageReport(Usage usage) implements StreamDelta {
    @Override
    public boolean content() {
      return false;
    }
  }

  /** The stream ended normally. */
  enum End implements StreamDelta {
    INSTANCE;

    @Override
    public boolean terminal() {
      return true;
    }
  }

  /** The stream failed: an error event, a dropped connection, a stall; {@code kind} as in the error model. */
  record Failed(OutcomeKind kind, String message) implements StreamDelta {
    @Override
    public boolean content() {
      return false;
    }

    @Override
    public boolean terminal() {
      return true;
    }
  }
}
