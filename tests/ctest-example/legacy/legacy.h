#ifndef LEGACY_H
#define LEGACY_H
struct legacy_config {
    char *name;
};
struct legacy_config *legacy_config_new(const char *name);
void legacy_config_free(struct legacy_config *c);
void legacy_shutdown(void);
#endif
