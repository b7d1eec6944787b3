"""The shipped data (README.md says what each file is and how it was made). demo.hushrec and demo_clean.npy
install as package data for `hush demo`; ecg_mitbih208.npy stays in the repository for tests and docs."""
