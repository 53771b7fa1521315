// Diagnostic only, for tools/gl_exit_abort_repro.ts --glvnd-shim (docs/gl_exit_abort.md):
// not part of the harness, never loaded by `deno task test` or `run`.
//
// The suspected cause of the GL fallback's exit-time abort is a double free in libglvnd
// (libEGL.so.1, the EGL dispatcher that Debian's Mesa is reached through):
// - every thread that calls EGL gets a small "thread state", freed by a pthread key
//   destructor when the thread exits;
// - libEGL's library destructor, run by exit(), frees every thread state still in its
//   list, including those of threads that are exiting at that moment.
// A thread that exits while the main thread is in exit() can so free its state a second
// time. `deno test` runs each test module on a pooled thread, and those threads end at
// about the time the process exits.
//
// This shim is LD_PRELOADed. It interposes pthread_key_create and registers keys whose
// destructor lies in libEGL.so.1 or libGLdispatch.so.0 without a destructor: an exiting
// thread then leaves its state in the list (a leak of a few dozen bytes per thread, until
// exit), and exit() frees each state once. If the aborts stop with the shim and go on
// without it under the same load, the double free is the cause.
//
// Build: cc -shared -fPIC -O2 -o glvnd_no_key_destructor.so glvnd_no_key_destructor.c -ldl
// With GLVND_SHIM_LOG set, each key it changes is named on stderr, so a run can prove the
// shim was active (the repro tool checks that it was).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*key_create_fn)(pthread_key_t *, void (*)(void *));

// Whether a destructor's code lies in one of libglvnd's libraries (dladdr names the
// shared object holding an address, whether or not the function is exported).
static int in_glvnd(void (*destructor)(void *)) {
  Dl_info info;
  if (!dladdr((void *)destructor, &info) || info.dli_fname == NULL) return 0;
  return strstr(info.dli_fname, "libEGL.so.1") != NULL ||
         strstr(info.dli_fname, "libGLdispatch.so.0") != NULL;
}

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  // libglvnd looks pthread_key_create up by name, so it finds this one first.
  static key_create_fn real;
  if (real == NULL) real = (key_create_fn)dlsym(RTLD_NEXT, "pthread_key_create");
  if (destructor != NULL && in_glvnd(destructor)) {
    if (getenv("GLVND_SHIM_LOG") != NULL) {
      Dl_info info;
      dladdr((void *)destructor, &info);
      fprintf(stderr, "glvnd shim: key of %s registered without its destructor\n",
              info.dli_fname);
    }
    destructor = NULL;
  }
  return real(key, destructor);
}
