/**
 * The embedded lab server's test account (src/lab, loopback only). Not a secret: it exists only inside the lab
 * process this tool starts itself, which is the one case where the tool supplies a password on its own.
 */
export const LAB_ACCOUNT = {
  domain: 'LAB',
  user: 'lab',
  password: 'lab-password',
  /** As it must be typed on a shell, quotes included (the backslash would vanish unquoted). */
  typed: 'LAB\\lab',
} as const;
