"""Follow-ups of feedback: cases opened by low scores and complaints."""
