declare module "cloudflare:test" {
  /** The Worker's own bindings (worker-configuration.d.ts), as `env` from `cloudflare:test` sees them. */
  interface ProvidedEnv extends Env {}
}
