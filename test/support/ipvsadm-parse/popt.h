/*
 * Declarations of the part of libpopt's ABI (popt 1.x) that ipvsadm 1.31 uses, so its option parser
 * builds against the runtime library (libpopt.so.0) when the libpopt-dev header is not installed.
 */
#ifndef VIGIL_POPT_H
#define VIGIL_POPT_H
#define POPT_ARG_NONE 0U
#define POPT_ARG_STRING 1U
#define POPT_ARG_INT 2U
#define POPT_ARGFLAG_OPTIONAL 0x10000000U
#define POPT_BADOPTION_NOALIAS (1U << 0)
struct poptOption {
  const char *longName;
  char shortName;
  unsigned int argInfo;
  void *arg;
  int val;
  const char *descrip;
  const char *argDescrip;
};
#define POPT_TABLEEND { NULL, '\0', 0, NULL, 0, NULL, NULL }
typedef struct poptContext_s *poptContext;
poptContext poptGetContext(const char *name, int argc, const char **argv, const struct poptOption *options,
                           unsigned int flags);
int poptGetNextOpt(poptContext con);
const char *poptGetArg(poptContext con);
const char *poptBadOption(poptContext con, unsigned int flags);
const char *poptStrerror(const int error);
poptContext poptFreeContext(poptContext con);
#endif
