package switchboard.providers.wire;

import java.util.Objects;

/**
 * One function call a model asked for, in OpenAI's terms: {@code arguments} is the JSON text of the
 * arguments, exactly as the model produced it.
 */
public record ToolCall(String id, String name, String arguments) {
  public ToolCall {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(arguments, "arguments");
  }
}
