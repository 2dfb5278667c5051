package switchboard.providers.wire;

import java.util.List;

/**
 * Turns one provider stream's server-sent events into {@link StreamDelta}s. One instance per call:
 * it may keep state between events (Anthropic numbers content blocks, OpenAI does not).
 */
@FunctionalInterface
public interface StreamParser {
  /** The pieces one event carries (often none); {@code type} is the SSE event name, empty when absent. */
  List<StreamDelta> onEvent(String type, String data);
}
