/** This process's environment without the variables named with one of `prefixes`: a test must not depend on whoever runs it. */
export function envWithout(...prefixes: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !prefixes.some((prefix) => name.startsWith(prefix))));
}
