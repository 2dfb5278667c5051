package switchboard.supervision.bench;

import picocli.CommandLine.Option;

/** {@code --postgres-user} and {@code --postgres-password}, for the bench commands that run on a PostgreSQL store. */
final class PostgresLogin {

  @Option(names = "--postgres-user", paramLabel = "USER", defaultValue = "switchboard")
  String user;

  @Option(names = "--postgres-password", paramLabel = "PASSWORD", defaultValue = "${env:SWITCHBOARD_DB_PASSWORD}",
      description = "(default: $SWITCHBOARD_DB_PASSWORD)")
  private String password;

  /** The password, "" when none was given. */
  String password() {
    return password == null ? "" : password;
  }
}
