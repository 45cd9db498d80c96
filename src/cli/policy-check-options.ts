/** Options added to `check` for policies and monitoring. */
export const POLICY_CHECK_OPTIONS = {
  policy: { type: 'string', describe: 'judge HOST against its entry in this policy file (YAML); Nagios output and exit codes 0-3' },
  'make-policy': { type: 'boolean', default: false, describe: 'print a policy (YAML) that HOST passes today, from this probe (as ssh-audit -M)' },
  junit: { type: 'string', describe: 'with --policy: also write JUnit XML to FILE' },
  github: { type: 'boolean', describe: 'with --policy: GitHub Actions annotations and step summary (default: when GITHUB_ACTIONS=true)' },
  'warning-cert-days': { type: 'string', describe: 'Nagios range for certificate days left, e.g. 60: (warn below 60); overrides the policy' },
  'critical-cert-days': { type: 'string', describe: 'Nagios range for certificate days left, e.g. 30: (critical below 30); overrides the policy' },
  'warning-time': { type: 'string', describe: 'Nagios range for the whole probe in seconds, e.g. 2 (warn above 2 s)' },
  'critical-time': { type: 'string', describe: 'Nagios range for the whole probe in seconds, e.g. 5 (critical above 5 s)' },
} as const;
