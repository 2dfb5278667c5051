package switchboard.providers.limits;

import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;

/**
 * The token cost of a request, guessed before the call so the tokens-per-minute throttle can act
 * on it: about one token per four characters of every message plus four per message for the
 * framing, and the answer's {@code max_tokens} (the request's, else the provider's default) as the
 * output. After the call the guess is corrected from the provider's {@code usage}.
 */
public final class TokenEstimate {
  static final int CHARS_PER_TOKEN = 4;
  static final int TOKENS_PER_MESSAGE = 4;

  private TokenEstimate() {}

  /** Estimated input tokens of {@code request}. */
  public static long input(ChatRequest request) {
    long tokens = 0;
    for (ChatMessage message : request.messages()) {
      tokens += TOKENS_PER_MESSAGE + (message.content().length() + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN;
    }
    return tokens;
  }

  /** Estimated input plus output tokens of {@code request}. */
  public static long total(ChatRequest request, int defaultMaxTokens) {
    return input(request) + request.maxTokens().orElse(defaultMaxTokens);
  }
}
