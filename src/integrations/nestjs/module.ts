import type { DynamicModule, Provider } from "@nestjs/common";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { readyToServe } from "../../throttles/backend-access.js";
import { TraffikGuard } from "./guard.js";
import {
  TRAFFIK_OPTIONS,
  type TraffikModuleAsyncOptions,
  type TraffikModuleOptions,
} from "./options.js";

/**
 * The module: `forRoot({ backend, throttles, headers })` or `forRootAsync({ useFactory,
 * inject, imports })`. Global: import it once, in the root module.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class, configured statically.
export class TraffikModule {
  /** The module with options known at startup. */
  static forRoot(options: TraffikModuleOptions = {}): DynamicModule {
    return TraffikModule.with({ provide: TRAFFIK_OPTIONS, useValue: options });
  }

  /** The module with options built by a factory from other providers. */
  static forRootAsync(options: TraffikModuleAsyncOptions): DynamicModule {
    rejectUnknownOptions("TraffikModule.forRootAsync", options, {
      imports: true,
      inject: true,
      useFactory: true,
    });
    return {
      ...TraffikModule.with({
        provide: TRAFFIK_OPTIONS,
        useFactory: options.useFactory,
        inject: (options.inject ?? []) as never[],
      }),
      imports: options.imports ?? [],
    };
  }

  private static with(optionsProvider: Provider): DynamicModule {
    return {
      module: TraffikModule,
      global: true,
      providers: [
        optionsProvider,
        {
          provide: TraffikGuard,
          useFactory: (options: TraffikModuleOptions) => new TraffikGuard(options),
          inject: [TRAFFIK_OPTIONS],
        },
        // Nest's APP_GUARD token: the guard covers every controller and gateway.
        { provide: "APP_GUARD", useExisting: TraffikGuard },
        {
          provide: Symbol.for("traffik.nestjs.lifecycle"),
          useFactory: (options: TraffikModuleOptions) => ({
            onModuleInit: () => options.backend && readyToServe(options.backend),
            onApplicationShutdown: () => options.backend?.close(),
          }),
          inject: [TRAFFIK_OPTIONS],
        },
      ],
      exports: [TRAFFIK_OPTIONS, TraffikGuard],
    };
  }
}
