"""`brownout report`: judge a results directory and write the verdict as markdown, HTML, JSON and JUnit."""
