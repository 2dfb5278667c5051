package switchboard.providers.wire;

import java.util.List;
import switchboard.providers.Usage;

/**
 * A whole answer parsed from a provider's 2xx body, in OpenAI's terms whatever the provider spoke:
 * {@code finishReason} is {@code stop}, {@code length}, {@code tool_calls} or {@code content_filter}.
 */
public record Completion(String text, List<ToolCall> toolCalls, String finishReason, Usage usage) {
  public Completion {
    toolCalls = List.copyOf(toolCalls);
  }

  /** A text answer that ended normally. */
  public static Completion text(String text, Usage usage) {
    return new Completion(text, List.of(), "stop", usage);
  }
}
