package switchboard.providers.wire;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import switchboard.providers.ChatRequest;
import switchboard.providers.ErrorClassifier;

/**
 * One wire format a provider may speak, everything about it in one class: where a call goes, how
 * it is authenticated, how the gateway's request (OpenAI Chat Completions, as the caller sent it)
 * becomes its body, how its answers and its streams are read, which error rows only it needs and
 * which of its response headers say something about rate limits. A new kind is a new implementation
 * plus its line in {@link switchboard.providers.config.ProviderConfig.Kind}.
 */
public interface ProviderKind {

  /** The {@code kind} value in the config. */
  String name();

  String defaultBaseUrl();

  String defaultModel();

  /** Whether calls are answered inside the process (no HTTP at all). */
  default boolean inProcess() {
    return false;
  }

  /** The full URL of a completion call for {@code baseUrl} (without a trailing slash). */
  String url(String baseUrl);

  /** The headers that carry {@code apiKey} (and the API version), never logged. */
  Map<String, String> authHeaders(String apiKey);

  /**
   * The body of a call for {@code request} with the provider's {@code model}; streaming on when
   * {@code request.stream()}. {@code defaultMaxTokens} is for kinds that require a limit.
   */
  byte[] requestBody(ChatRequest request, String model, int defaultMaxTokens);

  /** The completion in a parsed 2xx body; empty when the body is not a well-formed completion. */
  Optional<Completion> completion(JsonNode body);

  /** A parser for one streamed call. */
  StreamParser streamParser();

  /** Error rows only this kind needs, tried before the common rows of {@link ErrorClassifier}. */
  List<ErrorClassifier.Rule> errorRules();

  /** Whether a response header (lower-case name) is one of this kind's rate-limit headers, kept in the call log. */
  boolean rateLimitHeader(String name);
}
