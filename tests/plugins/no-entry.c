/* SPDX-License-Identifier: MIT */
/* no-entry - a shared object that is not a guardstack plugin. */
int no_entry_answer(void);
__attribute__((visibility("default"))) int no_entry_answer(void)
{
	return 42;
}
