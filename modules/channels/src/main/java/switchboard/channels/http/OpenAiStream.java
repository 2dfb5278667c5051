package switchboard.channels.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import switchboard.providers.ProviderResult;
import switchboard.providers.Usage;
import switchboard.providers.wire.StreamDelta;
import switchboard.providers.wire.ToolCall;

/**
 * An answer as OpenAI's {@code chat.completion.chunk} server-sent events, written piece by piece as
 * the pieces come (CONTRACT.md section 6): the first chunk carries {@code role}, each text or
 * tool-call piece its own chunk, then the finish chunk, a usage chunk when the caller asked for
 * {@code stream_options.include_usage}, and {@code data: [DONE]}. A stream that fails ends with one
 * {@code data: {"error": {...}}} event and no {@code [DONE]}.
 */
final class OpenAiStream {
  private OpenAiStream() {}

  /** The SSE bytes of {@code deltas}, one chunk per piece. */
  static Source<ByteString, NotUsed> events(Source<StreamDelta, NotUsed> deltas, String model, String provider, boolean withUsage) {
    return deltas.statefulMapConcat(() -> {
      Encoder encoder = new Encoder(model, provider, withUsage);
      return encoder::encode;
    });
  }

  /** A whole answer as the pieces of a stream (for a provider that answered in one piece). */
  static Source<StreamDelta, NotUsed> deltas(ProviderResult.Success success) {
    List<StreamDelta> out = new ArrayList<>();
    if (!success.text().isEmpty() || success.toolCalls().isEmpty()) {
      out.add(new StreamDelta.Text(success.text()));
    }
    List<ToolCall> calls = success.toolCalls();
    for (int i = 0; i < calls.size(); i++) {
      out.add(new StreamDelta.ToolCallPart(i, calls.get(i).id(), calls.get(i).name(), calls.get(i).arguments()));
    }
    out.add(new StreamDelta.Finish(success.finishReason()));
    out.add(new StreamDelta.UsageReport(success.usage()));
    out.add(StreamDelta.End.INSTANCE);
    return Source.from(out);
  }

  /** One stream's state: its id, whether the role went out, the usage so far. */
  private static final class Encoder {
    private final String id = OpenAiCodec.randomId("chatcmpl-");
    private final long created = Instant.now().getEpochSecond();
    private final String model;
    private final String provider;
    private final boolean withUsage;
    private boolean roleSent;
    private Usage usage = Usage.NONE;

    Encoder(String model, String provider, boolean withUsage) {
      this.model = model;
      this.provider = provider;
      this.withUsage = withUsage;
    }

    List<ByteString> encode(StreamDelta delta) {
      if (delta instanceof StreamDelta.Text text) {
        ObjectNode d = OpenAiCodec.JSON.createObjectNode();
        role(d).put("content", text.text());
        return List.of(chunk(d, null));
      }
      if (delta instanceof StreamDelta.ToolCallPart part) {
        ObjectNode d = OpenAiCodec.JSON.createObjectNode();
        ObjectNode call = role(d).putArray("tool_calls").addObject();
        call.put("index", part.index());
        if (!part.id().isEmpty()) {
          call.put("id", part.id()).put("type", "function");
        }
        ObjectNode function = call.putObject("function");
        if (!part.name().isEmpty()) {
          function.put("name", part.name());
        }
        function.put("arguments", part.arguments());
        return List.of(chunk(d, null));
      }
      if (delta instanceof StreamDelta.Finish finish) {
        return List.of(chunk(role(OpenAiCodec.JSON.createObjectNode()), finish.reason()));
      }
      if (delta instanceof StreamDelta.UsageReport report) {
        usage = usage.updatedBy(report.usage());
        return List.of();
      }
      if (delta instanceof StreamDelta.Failed failed) {
        ObjectNode error = OpenAiCodec.error(failed.kind().wire(), "Provider " + provider + " failed in the middle of "
            + "its answer: " + failed.message(), java.util.Optional.of(provider));
        return List.of(data(error.toString()));
      }
      List<ByteString> out = new ArrayList<>(2);
      if (withUsage) {
        ObjectNode chunk = head();
        chunk.putArray("choices");
        chunk.putObject("usage").put("prompt_tokens", usage.inputTokens())
            .put("completion_tokens", usage.outputTokens()).put("total_tokens", usage.total());
        out.add(data(chunk.toString()));
      }
      out.add(data("[DONE]"));
      return out;
    }

    /** The delta object, with {@code role} on the first chunk of the stream. */
    private ObjectNode role(ObjectNode delta) {
      if (!roleSent) {
        roleSent = true;
        delta.put("role", "assistant");
      }
      return delta;
    }

    private ByteString chunk(ObjectNode delta, String finishReason) {
      ObjectNode chunk = head();
      ArrayNode choices = chunk.putArray("choices");
      ObjectNode choice = choices.addObject();
      choice.put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      if (finishReason == null) {
        choice.putNull("finish_reason");
      } else {
        choice.put("finish_reason", finishReason);
      }
      return data(chunk.toString());
    }

    private ObjectNode head() {
      ObjectNode out = OpenAiCodec.JSON.createObjectNode();
      out.put("id", id);
      out.put("object", "chat.completion.chunk");
      out.put("created", created);
      out.put("model", model);
      return out;
    }
  }

  static ByteString data(String json) {
    return ByteString.fromString("data: " + json + "\n\n");
  }
}
