"""The run store: every run's figures per operation and per fault, labelled by release, in one SQLite file;
compare against its between-run spread (`brownout compare --store`) and trends across releases
(`brownout trend`)."""
