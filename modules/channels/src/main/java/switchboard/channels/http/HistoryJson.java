package switchboard.channels.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.BiConsumer;
import switchboard.channels.ChannelHistory;
import switchboard.providers.observe.MinuteRing;
import switchboard.providers.observe.ProviderHistory;

/**
 * The body of {@code GET /api/history}: the last hour of each provider and channel, minute by minute.
 * Only minutes with data are listed, oldest first; a provider or channel with none has no buckets.
 */
final class HistoryJson {
  private HistoryJson() {}

  static ObjectNode of(ProviderHistory providers, ChannelHistory channels) {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    out.put("minutes", MinuteRing.HOUR);
    out.put("now", providers.now().toString());
    series(out.putArray("providers"), providers.lastHour(), (b, json) -> {
      json.put("start", b.start().toString());
      counts(json.putObject("calls"), b.calls());
      json.put("refused", b.refused());
      millis(json, "p50_ms", b.p50Ms());
      millis(json, "p99_ms", b.p99Ms());
      json.put("spend", b.spend());
    });
    series(out.putArray("channels"), channels.lastHour(), (b, json) -> {
      json.put("start", b.start().toString());
      json.put("messages", b.messages());
      json.put("busy", b.busy());
      counts(json.putObject("outcomes"), b.outcomes());
    });
    return out;
  }

  private static <B> void series(ArrayNode array, Map<String, List<B>> byName, BiConsumer<B, ObjectNode> bucket) {
    byName.forEach((name, buckets) -> {
      ObjectNode entry = array.addObject();
      entry.put("name", name);
      ArrayNode list = entry.putArray("buckets");
      buckets.forEach(b -> bucket.accept(b, list.addObject()));
    });
  }

  private static void counts(ObjectNode json, Map<String, Long> counts) {
    counts.forEach(json::put);
  }

  private static void millis(ObjectNode json, String field, OptionalDouble value) {
    if (value.isPresent()) {
      json.put(field, value.getAsDouble());
    } else {
      json.putNull(field);
    }
  }
}
