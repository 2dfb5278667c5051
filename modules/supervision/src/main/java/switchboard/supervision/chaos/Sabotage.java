package switchboard.supervision.chaos;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A promise broken on purpose, to show that its check catches it ({@code chaos --break NAME}). Each
 * either gives the gateway a config that differs from the one the checks hold it to (the gateway
 * then really does what a buggy gateway would: retries more, calls around an open breaker, spends
 * past the cap, prints a key, keeps memory), or makes a fake misbehave as a real service can.
 */
enum Sabotage {
  RETRIES("calls beyond a bound", "the gateway's retry.max-retries is 3 more than the checks allow"),
  BREAKER("calls while a breaker was open",
      "the gateway gets a second entry for the first provider with the same address and keys, which walks around its breakers"),
  SPEND("spend against the caps", "the gateway's budget caps are 20 times those the checks hold it to"),
  SECRET("secrets in logs, metrics and status", "a provider's name carries one of the run's keys"),
  TWICE("answered twice", "the fake Telegram delivers some answered messages again under new update ids"),
  LOST("lost", "the fake Telegram acknowledges some replies and drops them"),
  HEAP("heap and threads", "conversations are kept for an hour and, after the first heap sample, every HTTP message is a new one of 600 KiB");

  /** The check this sabotage must make fail. */
  final String check;
  final String does;

  Sabotage(String check, String does) {
    this.check = check;
    this.does = does;
  }

  String flag() {
    return name().toLowerCase(Locale.ROOT);
  }

  static Sabotage parse(String flag) {
    for (Sabotage s : values()) {
      if (s.flag().equals(flag.trim().toLowerCase(Locale.ROOT))) {
        return s;
      }
    }
    throw new IllegalArgumentException("--break " + flag + " is not known (expected one of "
        + Arrays.stream(values()).map(Sabotage::flag).collect(Collectors.joining(", ")) + ")");
  }
}
