package switchboard.providers;

/** Tokens a call consumed, as the provider reported them ({@code usage}); zero when it did not say. */
public record Usage(long inputTokens, long outputTokens) {
  public static final Usage NONE = new Usage(0, 0);

  public long total() {
    return inputTokens + outputTokens;
  }

  public Usage plus(Usage other) {
    return new Usage(inputTokens + other.inputTokens, outputTokens + other.outputTokens);
  }
}
