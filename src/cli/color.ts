/**
 * Whether to colour output: --color/--no-color first, then the environment conventions (FORCE_COLOR as Node
 * itself reads it, winning over NO_COLOR; NO_COLOR with any non-empty value, https://no-color.org), then
 * "is stdout a terminal".
 */
export function useColor(flag: boolean | undefined, env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  return Boolean(isTTY);
}
