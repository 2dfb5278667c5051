package switchboard.providers;

/** Tokens a call consumed, as the provider reported them ({@code usage}); zero when it did not say. */
public record Usage(long inputTokens, long outputTokens) {
  public static final Usage NONE = new Usage(0, 0);

  public long total() {
    return inputTokens + outputTokens;
  }

  /**
   * These counts with what a later report says: each count the report knows (not 0) replaces this
   * one (streams report input and output tokens in different events, each as a running total).
   */
  public Usage updatedBy(Usage report) {
    return new Usage(report.inputTokens > 0 ? report.inputTokens : inputTokens,
        report.outputTokens > 0 ? report.outputTokens : outputTokens);
  }

  public Usage plus(Usage other) {
    return new Usage(inputTokens + other.inputTokens, outputTokens + other.outputTokens);
  }
}
