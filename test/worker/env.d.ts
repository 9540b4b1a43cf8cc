declare module "cloudflare:test" {
  /** The Worker's own bindings, as `env` from `cloudflare:test` sees them. */
  interface ProvidedEnv extends Env {}
}
